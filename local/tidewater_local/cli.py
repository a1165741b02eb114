"""`tidewater`: the local stack and the scripts around it.

tidewater local [--demo] [--port 3000] [--data-dir .tidewater]   the whole stack
                [--donation-min-donors N] [--donation-embargo-days N]
tidewater invoke summarize|export|poll [--port 3000] [--keep-seconds]  a scheduled run, now
tidewater login EMAIL [--port 3000]                                a session token
tidewater grant-role EMAIL patient|clinician|researcher [--port 3000]  an operator's grant
tidewater export-user EMAIL [--format json|csv] [--output FILE]    everything of an account
tidewater summary FILE.json                                        a summary, offline
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

STOP_POLL_SECONDS = 0.2


def find_template(start: Path | None = None) -> Path:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "template.yaml").exists():
            return folder / "template.yaml"
    raise SystemExit("tidewater: no template.yaml here or above; run it from the project")


def _post(url: str, data: bytes = b"", headers: dict[str, str] | None = None) -> Any:
    # Only ever http://127.0.0.1:<port>/…, built by this module.
    request = urllib.request.Request(url, data=data, method="POST", headers=headers or {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")
        raise SystemExit(f"tidewater: {error.code} {detail}") from None
    except urllib.error.URLError as error:
        raise SystemExit(
            f"tidewater: no local stack answers at {url} ({error.reason}); start it: make run"
        ) from None


def cmd_local(args: argparse.Namespace) -> int:
    from tidewater_local.snapshot import BrokenSnapshot
    from tidewater_local.stack import LocalStack, StackOptions

    data_dir = None if args.no_persist else Path(args.data_dir)
    overrides = {"DonationMinDonors": args.donation_min_donors,
                 "DonationEmbargoDays": args.donation_embargo_days}  # fmt: skip
    try:
        stack = LocalStack(
            StackOptions(
                template=Path(args.template) if args.template else find_template(),
                port=args.port,
                data_dir=data_dir,
                schedules=not args.no_schedules,
                demo=args.demo,
                demo_data=not args.no_demo_data,
                verbose=args.verbose,
                parameters={k: str(v) for k, v in overrides.items() if v is not None},
            )
        )
    except ValueError as error:  # a parameter the template refuses
        raise SystemExit(f"tidewater: {error}") from None
    # A plain list, not an Event: a signal handler that takes a lock the interrupted main
    # thread holds (Event.set inside Event.wait) never returns, and the stack serves on.
    stopping: list[int] = []

    def _stop(signum: int, frame: FrameType | None) -> None:
        if stopping:  # a second Ctrl-C while saving: the save goes on to its end
            os.write(2, b"tidewater: still saving; the previous snapshot stays until then\n")
        stopping.append(signum)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        stack.start()
    except BrokenSnapshot as broken:
        stack.stop()  # saves nothing: the stack never held what the data directory did
        print(f"tidewater: the snapshot {broken.source} could not be loaded: {broken.reason}.\n"
              f"  It is kept, unchanged, as {broken.kept}.\n"
              "  Start again to begin with an empty stack, or put a good snapshot back.",
              file=sys.stderr)  # fmt: skip
        return 1
    except OSError as error:
        stack.stop()
        message = f"tidewater: cannot listen on 127.0.0.1:{args.port}: {error.strerror}"
        raise SystemExit(message) from None
    except BaseException:
        stack.stop()
        raise
    print(f"Tidewater local stack: {stack.url}")
    print("  DynamoDB, S3, Cognito and Secrets Manager are played by moto's server, in memory;")
    if data_dir:
        print(f"  tables, objects (every version), accounts and secrets are saved to {data_dir}/")
        print("  on stop and restored on start (the file holds local passwords: it is 0600).")
    else:
        print("  nothing is kept when it stops (--no-persist).")
    if stack.demo_accounts:
        from tidewater_local.demo import DEMO_PASSWORD

        print(f"  Demo accounts (password {DEMO_PASSWORD}):")
        for account in stack.demo_accounts:
            print(f"    {account.email:<24} {account.role:<10} userId {account.user_id}")
        print(f"  Demo clinic {stack.demo_clinic} (Carol's; Alice and Bob share with it)")
        if not args.no_demo_data:
            print("  Alice and Bob have two weeks of CGM data, summarised; Chloe, Dev, Emma, Frank")
            print("  and Grace (one in each TIDE group) four weeks.")
        if stack.demo_donors:
            first, last = stack.demo_donors[0].email, stack.demo_donors[-1].email
            print(f"  {len(stack.demo_donors)} donors ({first} … {last}) consent and have a week")
            print("  of CGM past the embargo: `tidewater invoke export` publishes it for Dana.")
        print(f"  A session token for scripts: tidewater login EMAIL --port {args.port}")
    runs: dict[str, list[str]] = {}
    for schedule in stack.template.schedules() if not args.no_schedules else []:
        name = stack.functions.specs[schedule.function].name
        runs.setdefault(f"{name} every {schedule.every} s", []).append(f"+{schedule.offset} s")
    for cadence, offsets in runs.items():
        print(f"  Schedule: {cadence} (at {', '.join(offsets)})")
    print("  Press Ctrl-C to stop.", flush=True)
    while not stopping:
        time.sleep(STOP_POLL_SECONDS)  # a signal cuts the sleep short; its handler has run
    print("Stopping…", flush=True)
    stack.stop()
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    extra = {"keepSeconds": True} if args.keep_seconds else {}
    if extra and args.name != "export":
        raise SystemExit("tidewater: --keep-seconds applies to the export only")
    result = _post(f"http://127.0.0.1:{args.port}/_local/invoke/{args.name}",
                   json.dumps(extra).encode() if extra else b"",
                   {"Content-Type": "application/json"})  # fmt: skip
    print(json.dumps(result, indent=2))
    return 0


def cmd_grant_role(args: argparse.Namespace) -> int:
    """Grant an account its role, as an operator does in AWS with Cognito's admin API (the
    account's Cognito group); patient takes the other roles away. It counts from the
    account's next login."""
    body = json.dumps({"email": args.email, "role": args.role}).encode()
    result = _post(f"http://127.0.0.1:{args.port}/_local/grant-role", body,
                   {"Content-Type": "application/json"})  # fmt: skip
    print(f"{args.email} is now a {result['role']} (userId {result['userId']}); "
          "it counts from their next login")  # fmt: skip
    return 0


def cmd_login(args: argparse.Namespace) -> int:
    """Print a session token: the password comes from TIDEWATER_PASSWORD or a prompt."""
    password = os.environ.get("TIDEWATER_PASSWORD") or getpass.getpass(
        f"Password for {args.email}: "
    )
    basic = base64.b64encode(f"{args.email}:{password}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{args.port}/auth/login",
        method="POST",
        headers={"Authorization": f"Basic {basic}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            print(response.headers["X-Tidepool-Session-Token"])
            return 0
    except urllib.error.HTTPError as error:
        print(f"tidewater login: {error.code}: wrong email or password", file=sys.stderr)
    except urllib.error.URLError as error:
        print(
            f"tidewater login: no local stack on port {args.port} ({error.reason})", file=sys.stderr
        )
    return 1


def cmd_export_user(args: argparse.Namespace) -> int:
    """Log in as EMAIL, ask for the export and follow its 303 to the file."""
    password = os.environ.get("TIDEWATER_PASSWORD") or getpass.getpass(
        f"Password for {args.email}: "
    )
    base = f"http://127.0.0.1:{args.port}"
    basic = base64.b64encode(f"{args.email}:{password}".encode()).decode()
    # Only ever http://127.0.0.1:<port>/…, built here.
    login = urllib.request.Request(f"{base}/auth/login", method="POST",  # noqa: S310
                                   headers={"Authorization": f"Basic {basic}"})  # fmt: skip
    extension = "zip" if args.format == "csv" else "json"
    output = Path(args.output or f"tidewater-export.{extension}")
    try:
        with urllib.request.urlopen(login, timeout=30) as response:  # noqa: S310
            token = response.headers["X-Tidepool-Session-Token"]
            user_id = json.loads(response.read())["userId"]
        export = urllib.request.Request(  # noqa: S310
            f"{base}/v1/users/{user_id}/export?format={args.format}"
        )
        # Unredirected: urllib follows the 303 to the presigned URL (moto's S3 locally) and
        # must not carry the session token to another host.
        export.add_unredirected_header("X-Tidepool-Session-Token", token)
        with urllib.request.urlopen(export, timeout=600) as response, output.open("wb") as out:  # noqa: S310
            while chunk := response.read(1 << 20):
                out.write(chunk)
    except urllib.error.HTTPError as error:
        print(f"tidewater export-user: {error.code}: {error.read().decode(errors='replace')}",
              file=sys.stderr)  # fmt: skip
        return 1
    except urllib.error.URLError as error:
        print(f"tidewater export-user: no local stack on port {args.port} ({error.reason})",
              file=sys.stderr)  # fmt: skip
        return 1
    print(f"{output} ({output.stat().st_size} bytes)")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    """Summarise a JSON array of datums (cbg and smbg in any units; other types ignored)."""
    from tidewater.domain.summary import summarize

    try:
        datums = json.loads(Path(args.file).read_text())
    except OSError as error:
        print(f"tidewater summary: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 1
    except ValueError:
        print(f"tidewater summary: {args.file} is not JSON", file=sys.stderr)
        return 1
    if not isinstance(datums, list):
        print("tidewater summary: the file must hold a JSON array of datums", file=sys.stderr)
        return 1
    try:
        result = summarize(d for d in datums if isinstance(d, dict))
    except ValueError as error:
        print(f"tidewater summary: {error}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="tidewater", description=__doc__.splitlines()[0])
    commands = main.add_subparsers(dest="command", required=True)

    local = commands.add_parser("local", help="run the whole stack on 127.0.0.1")
    local.add_argument("--port", type=int, default=3000)
    local.add_argument("--demo", action="store_true", help="create demo accounts and data")
    local.add_argument("--no-demo-data", action="store_true", help="demo accounts, no data")
    local.add_argument("--data-dir", default=".tidewater", help="where state is kept")
    local.add_argument("--no-persist", action="store_true", help="keep state in memory only")
    local.add_argument("--no-schedules", action="store_true", help="fire no schedules")
    local.add_argument("--template", help="template.yaml (default: found from here up)")
    local.add_argument("--verbose", action="store_true", help="access and function logs")
    local.add_argument(
        "--donation-min-donors",
        type=int,
        metavar="N",
        help="donors a slice needs (template parameter DonationMinDonors)",
    )
    local.add_argument("--donation-embargo-days", type=int, metavar="N",
                       help="days before a window is exported (DonationEmbargoDays)")  # fmt: skip
    local.set_defaults(run=cmd_local)

    invoke = commands.add_parser("invoke", help="run a scheduled function once, now")
    invoke.add_argument("name", choices=["summarize", "export", "poll"])
    invoke.add_argument("--port", type=int, default=3000)
    invoke.add_argument("--keep-seconds", action="store_true",
                        help="export: keep exported times' seconds, this run only")  # fmt: skip
    invoke.set_defaults(run=cmd_invoke)

    login = commands.add_parser("login", help="print a session token for scripts")
    login.add_argument("email")
    login.add_argument("--port", type=int, default=3000)
    login.set_defaults(run=cmd_login)

    grant = commands.add_parser("grant-role", help="grant an account a role (an operator's act)")
    grant.add_argument("email")
    grant.add_argument("role", choices=["patient", "clinician", "researcher"])
    grant.add_argument("--port", type=int, default=3000)
    grant.set_defaults(run=cmd_grant_role)

    export = commands.add_parser("export-user", help="download everything of an account")
    export.add_argument("email")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--output", help="the file (default tidewater-export.json or .zip)")
    export.add_argument("--port", type=int, default=3000)
    export.set_defaults(run=cmd_export_user)

    summary = commands.add_parser("summary", help="summarise a JSON file of datums")
    summary.add_argument("file")
    summary.set_defaults(run=cmd_summary)
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
