"""Clinics, their clinicians and patients."""

from __future__ import annotations

from tidewater.store import keys
from tidewater.store.models import ClinicModel


class ClinicsRepository:
    def _clinics_of(self, member_id: str, prefix: str) -> set[str]:
        return {
            item.clinic_id
            for item in ClinicModel.by_member.query(member_id)
            if item.sk.startswith(prefix)
        }

    def clinician_of_patient(self, clinician_id: str, patient_id: str) -> bool:
        """Is `clinician_id` a member of a clinic `patient_id` shares with? Two Queries on
        the `byMember` index, whatever the number of clinics or patients."""
        patient_in = self._clinics_of(patient_id, keys.CLINIC_PATIENT)
        return bool(patient_in) and not patient_in.isdisjoint(
            self._clinics_of(clinician_id, keys.CLINIC_CLINICIAN)
        )
