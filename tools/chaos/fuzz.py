"""`make fuzz`: schemathesis generates requests from the app's own OpenAPI document and sends
them through nginx to gunicorn, with a real bearer token (tools/chaos/fuzz_auth.py).

It fails on a 5xx, on a response that does not match the documented status codes, headers or
body schema, on a request slower than the timeout (a hang), and on a token found in the logs.

    python -m tools.chaos.fuzz --examples 150
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tools.chaos.environment import ChaosEnvironment
from tools.chaos.logs import AccessSummary, access_summary, leaked
from tools.chaos.results import write_results

REQUEST_TIMEOUT = 5.0  # seconds; nginx answers any upstream problem well within this
EXCLUDED_CHECKS = (
    # Expects 2xx for schema-valid input, but some rules cannot be said in JSON Schema: a name
    # of spaces only matches the schema and is a 422 (trimmed to nothing).
    "positive_data_acceptance",
)
# nginx allows 5 logins/s per address (burst 10): POST /login is fuzzed in a second run below
# that rate, so the login logic is exercised instead of nginx's 429.
LOGIN_RATE = "4/s"
# The accounts operations that send mail or hash a password: nginx allows 1/s per address
# (burst 5), so the first run meets mostly its 429. A third run stays below that rate, with
# fewer examples (a minute or two), so the sign-up, verification, reset and password-change
# logic answers too.
LIMITED_ACCOUNTS = (
    r"^/v1/accounts(/verify|/password-reset(/confirm)?|/me/password|/me/verification)?$"
)
ACCOUNTS_RATE = "50/m"
ACCOUNTS_EXAMPLES = 15


@dataclass
class FuzzResult:
    exit_code: int
    access: AccessSummary
    token_leaks: list[str]
    seconds: float
    output_tail: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.access.server_errors == 0 and not self.token_leaks

    def describe(self) -> str:
        statuses = ", ".join(f"{s}: {n}" for s, n in sorted(self.access.statuses.items()))
        return (
            f"schemathesis exit code {self.exit_code} in {self.seconds:.0f} s\n"
            f"requests through nginx: {self.access.requests} ({statuses})\n"
            f"5xx: {self.access.server_errors}; slowest: {self.access.max_seconds:.3f} s "
            f"({self.access.slowest}); tokens in logs: {len(self.token_leaks)}"
        )


def schemathesis_command(
    base_url: str, examples: int, seed: int | None, *selection: str
) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "run",
        f"{base_url}/openapi.json",
        "--checks=all",
        f"--exclude-checks={','.join(EXCLUDED_CHECKS)}",
        f"--max-examples={examples}",
        f"--request-timeout={REQUEST_TIMEOUT}",
        "--workers=2",
        "--continue-on-failure",
        "--suppress-health-check=all",
        *selection,
    ]
    return [*command, f"--seed={seed}"] if seed is not None else command


def run_fuzz(run_dir: Path, examples: int, seed: int | None = None) -> FuzzResult:
    started = time.monotonic()
    tokens = run_dir / "issued-tokens.txt"
    # Accounts: 0 the fuzzer's, 1 for the logout operations, 2 a spare the admin operations act
    # on (nobody logs in with it), 3 the admin.
    with ChaosEnvironment(run_dir, users=4, admins=1) as env:
        assert env.stack is not None
        tokens.unlink(missing_ok=True)
        own, logout, spare, admin = env.accounts
        hook_env = {
            "SCHEMATHESIS_HOOKS": "tools.chaos.fuzz_auth",
            "FUZZ_BASE_URL": env.stack.base_url,
            "FUZZ_TOKENS_FILE": str(tokens),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
            "FUZZ_PROTECTED_IDS": ",".join(str(a.id) for a in (own, logout, admin)),
            "FUZZ_SPARE_ID": str(spare.id),
        }
        for key, account in (("0", own), ("1", logout), ("admin", admin)):
            hook_env[f"FUZZ_USERNAME_{key}"] = account.username
            hook_env[f"FUZZ_PASSWORD_{key}"] = account.password
        runs = (
            (examples, ("--exclude-path=/login",)),
            (examples, ("--include-path=/login", f"--rate-limit={LOGIN_RATE}")),
            (
                min(examples, ACCOUNTS_EXAMPLES),
                (
                    f"--include-path-regex={LIMITED_ACCOUNTS}",
                    f"--rate-limit={ACCOUNTS_RATE}",
                    "--phases=fuzzing",
                ),
            ),
        )
        exit_code, output = 0, ""
        for count, selection in runs:
            process = subprocess.run(  # noqa: S603 (fixed argv, no shell)
                schemathesis_command(env.stack.base_url, count, seed, *selection),
                env={**os.environ, **hook_env},
                capture_output=True,
                text=True,
                check=False,
            )
            exit_code = exit_code or process.returncode
            output += process.stdout + process.stderr
        (run_dir / "schemathesis.txt").write_text(output)  # the full reports, failures first
        passwords = [account.password for account in env.accounts]
    # Read once the stack has stopped: nginx buffers its access log and writes it out on exit.
    issued = tokens.read_text().split() if tokens.exists() else []
    return FuzzResult(
        exit_code=exit_code,
        access=access_summary(run_dir / "nginx.log"),
        token_leaks=leaked([*issued, *passwords], sorted(run_dir.glob("*.log"))),
        seconds=time.monotonic() - started,
        output_tail="\n".join(output.splitlines()[-40:]),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=400, help="per API operation")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--run-dir", type=Path, default=Path("run/fuzz"))
    args = parser.parse_args()
    result = run_fuzz(args.run_dir, args.examples, args.seed)
    print(result.output_tail)
    print(result.describe())
    access = result.access
    path = write_results(
        "fuzz",
        {
            "passed": result.ok,
            "examples_per_operation": args.examples,
            "schemathesis_exit_code": result.exit_code,
            "requests": access.requests,
            "statuses": {str(status): count for status, count in sorted(access.statuses.items())},
            "server_errors": access.server_errors,
            "slowest_seconds": access.max_seconds,
            "tokens_in_logs": len(result.token_leaks),
            "seconds": round(result.seconds, 1),
        },
    )
    print(f"written to {path}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
