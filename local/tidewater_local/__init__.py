"""The no-Docker local stack: moto's server, an HTTP front and the schedules, from template.yaml."""
