"""check-dvc-yaml: dvc.yaml as DVC 3 loads it, every error at its key or value."""

from __future__ import annotations

from collections.abc import Iterator

from ..findings import UNREADABLE_FILE, Finding, Rule
from ..project import FileProblem
from ..runner import Check, CheckContext, hook_main
from ..yamldoc import YamlProblem

INVALID_YAML = Rule(
    "DG101",
    "invalid-yaml",
    "error",
    "dvc.yaml is not YAML that DVC can load.",
    why="DVC refuses the whole file: no stage of it can run, and `dvc status` fails.",
    fix="Fix the syntax at the position given.",
)
DUPLICATE_KEY = Rule(
    "DG102",
    "duplicate-key",
    "error",
    "A mapping repeats a key.",
    why="DVC's YAML loader refuses duplicate keys, so the file does not load at all.",
    fix="Keep one of the two keys; merge their contents if both were meant.",
)


def check(context: CheckContext) -> Iterator[Finding]:
    project = context.project
    files = project.dvc_yaml_files if context.files is None else context.selected("dvc.yaml")
    for path in files:
        try:
            doc = project.yaml(path)
        except YamlProblem as exc:
            yield INVALID_YAML.at(path, exc.mark, exc.message)
            continue
        except FileProblem as exc:
            yield UNREADABLE_FILE.at(path, exc.mark, exc.message)
            continue
        for problem in doc.problems:
            yield DUPLICATE_KEY.at(path, problem.mark, problem.message)


CHECK = Check("check-dvc-yaml", check, codes=("DG1",))
main = hook_main(CHECK, help="Check dvc.yaml files against DVC 3's schema.")

if __name__ == "__main__":
    raise SystemExit(main())
