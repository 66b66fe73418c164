"""Run `dvc-gitops check` on real checkouts and count findings per code (the trial).

    .venv/bin/python bench/real_repos.py CHECKOUT... [--verdicts FILE] [--save DIR]

Each CHECKOUT is a folder holding a git repository (read only: the check never writes).
For each one the script runs `dvc-gitops check --format json CHECKOUT` as a fresh process,
then prints the findings per repository and per code, with their severities and the time
each check took.

`--verdicts FILE` adds a judgement: a tab-separated file whose rows are

    repo  code  path-glob  message-substring  verdict  category  note

(`repo` is the checkout folder's name or `*`, `path-glob` an fnmatch pattern over the
finding's path, `message-substring` empty for any; `verdict` is `true` or `false`; lines
starting with `#` are comments). The first row that matches a finding judges it. The
script then prints, per code, how many findings are true and false, the causes of the
false ones, the false findings at error level and the share of false findings, and lists
every finding no row judges so the judge can complete the file. Run it before and after a
change with the same file and the counts are comparable.

`--save DIR` keeps each repository's findings (DIR/<repo>.json); `--load DIR` judges
findings saved so by an earlier run (another version of the tool) instead of running it.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Finding:
    repo: str
    code: str
    severity: str
    path: str
    line: int
    message: str


@dataclass(frozen=True)
class Verdict:
    repo: str
    code: str
    path: str
    text: str
    real: bool
    category: str

    def judges(self, finding: Finding) -> bool:
        return (
            self.repo in ("*", finding.repo)
            and self.code in ("*", finding.code)
            and fnmatch.fnmatchcase(finding.path, self.path or "*")
            and self.text in finding.message
        )


def run_check(binary: str, checkout: Path) -> tuple[list[Finding], float, str]:
    """The findings of one checkout, the seconds the check took and its error text."""
    start = time.perf_counter()
    done = subprocess.run(
        [binary, "check", "--format", "json", str(checkout)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        return [], seconds, (done.stderr.strip() or done.stdout.strip())[:300]
    report = json.loads(done.stdout)
    findings = [
        Finding(
            checkout.name,
            f["code"],
            f["severity"],
            f["path"],
            int(f.get("line") or 0),
            f["message"],
        )
        for f in report["findings"]
    ]
    return findings, seconds, ""


def read_verdicts(path: Path) -> list[Verdict]:
    verdicts = []
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip() or text.startswith("#"):
            continue
        cells = text.split("\t")
        if len(cells) < 6 or cells[4] not in ("true", "false"):
            raise SystemExit(f"{path}:{number}: expected 6+ tab-separated cells")
        repo, code, glob, substring, verdict, category = cells[:6]
        verdicts.append(Verdict(repo, code, glob, substring, verdict == "true", category))
    return verdicts


def judge(findings: list[Finding], verdicts: list[Verdict]) -> dict[Finding, Verdict | None]:
    return {f: next((v for v in verdicts if v.judges(f)), None) for f in findings}


def print_counts(findings: list[Finding]) -> None:
    by_code: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        by_code[f.code][f.severity] += 1
    print(f"\n{'code':<7} {'findings':>8}  severities")
    for code in sorted(by_code):
        counts = by_code[code]
        print(f"{code:<7} {sum(counts.values()):>8}  {dict(sorted(counts.items()))}")
    print(f"{'total':<7} {len(findings):>8}")


def print_judgement(judged: dict[Finding, Verdict | None]) -> None:
    true: Counter[str] = Counter()
    false: Counter[str] = Counter()
    causes: dict[str, Counter[str]] = defaultdict(Counter)
    false_errors = []
    for finding, verdict in judged.items():
        if verdict is None:
            continue
        if verdict.real:
            true[finding.code] += 1
        else:
            false[finding.code] += 1
            causes[finding.code][verdict.category] += 1
            if finding.severity == "error":
                false_errors.append(finding)
    print(f"\n{'code':<7} {'true':>5} {'false':>5}  causes of the false ones")
    for code in sorted(set(true) | set(false)):
        why = ", ".join(f"{c} x{n}" for c, n in sorted(causes[code].items()))
        print(f"{code:<7} {true[code]:>5} {false[code]:>5}  {why}")
    judged_total = sum(true.values()) + sum(false.values())
    share = 100 * sum(false.values()) / judged_total if judged_total else 0.0
    print(
        f"{'total':<7} {sum(true.values()):>5} {sum(false.values()):>5}"
        f"  false share {share:.1f}%, false at error level {len(false_errors)}"
    )
    for f in false_errors:
        print(f"  false error: {f.repo} {f.path}:{f.line} {f.code} {f.message[:160]}")
    unjudged = [f for f, v in judged.items() if v is None]
    if unjudged:
        print(f"\n{len(unjudged)} findings no verdict judges:")
        for f in unjudged:
            print(f"  {f.repo}\t{f.code}\t{f.path}:{f.line}\t{f.message[:200]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--bin", default=str(Path(sys.executable).parent / "dvc-gitops"))
    parser.add_argument("--verdicts", type=Path)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--load", type=Path)
    args = parser.parse_args(argv)
    everything: list[Finding] = []
    failed = 0
    for checkout in args.checkouts:
        if args.load:
            rows = json.loads((args.load / f"{checkout.name}.json").read_text())
            findings, seconds, error = [Finding(**row) for row in rows], 0.0, ""
        else:
            findings, seconds, error = run_check(args.bin, checkout)
        everything += findings
        codes = Counter(f.code for f in findings)
        summary = error or ", ".join(f"{c} {n}" for c, n in sorted(codes.items())) or "clean"
        print(f"{checkout.name:<45} {len(findings):>4} {seconds:6.2f}s  {summary}")
        failed += bool(error)
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            rows = [f.__dict__ for f in findings]
            (args.save / f"{checkout.name}.json").write_text(json.dumps(rows, indent=1))
    print_counts(everything)
    if args.verdicts:
        print_judgement(judge(everything, read_verdicts(args.verdicts)))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
