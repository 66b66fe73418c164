"""The pipeline at HEAD as a Mermaid flowchart: changed, re-running and untouched stages
styled apart, with a legend. A large pipeline collapses each foreach/matrix definition
into one node and draws only the affected part, saying how many stages it left out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from dvc_gitops.dvcmodel.model import Pipeline

# Above this many stages the picture collapses foreach members and keeps the affected part.
MAX_NODES = 40
# Even the affected part is cut here: Mermaid (and a reader) gives up on bigger pictures.
MAX_DRAWN = 150

STYLES = {
    "changed": "fill:#fde68a,stroke:#b45309,color:#111",
    "rerun": "fill:#bfdbfe,stroke:#1d4ed8,color:#111",
    "untouched": "fill:#f3f4f6,stroke:#9ca3af,color:#6b7280",
    "removed": "fill:#fee2e2,stroke:#b91c1c,stroke-dasharray:4 3,color:#111",
}
LEGEND = {
    "changed": "changed in dvc.yaml",
    "rerun": "will re-run",
    "untouched": "untouched",
    "removed": "removed",
}
_RANK = {"changed": 3, "rerun": 2, "untouched": 1}


@dataclass(frozen=True)
class Picture:
    mermaid: str  # the flowchart text, without the code fence
    drawn: int  # nodes drawn (a collapsed group counts once)
    left_out: int  # stages not drawn


def draw(
    pipeline: Pipeline,
    changed: Iterable[str],
    rerun: Iterable[str],
    removed: Iterable[str] = (),
    max_nodes: int = MAX_NODES,
) -> Picture:
    """The flowchart of `pipeline` with each stage's class; see the module docstring."""
    state = {a: "untouched" for a in pipeline.stages}
    state.update({a: "rerun" for a in rerun if a in state})
    state.update({a: "changed" for a in changed if a in state})
    order = pipeline.topological_order()
    edges = pipeline.edges()
    group = {a: a for a in order}
    large = len(order) > max_nodes
    if large:
        for address in order:
            stage = pipeline.stages[address]
            if stage.member is not None:
                prefix = address[: len(address) - len(stage.name)]
                group[address] = f"{prefix}{stage.definition}@*"
    nodes: dict[str, list[str]] = {}
    for address in order:
        nodes.setdefault(group[address], []).append(address)
    node_state = {
        node: max((state[m] for m in members), key=_RANK.__getitem__)
        for node, members in nodes.items()
    }
    node_edges = list(dict.fromkeys((group[u], group[d]) for u, d in edges if group[u] != group[d]))
    shown = list(nodes)
    if large:
        affected = {n for n, s in node_state.items() if s != "untouched"}
        context = {u for u, d in node_edges if d in affected}
        shown = [n for n in nodes if n in affected or n in context][:MAX_DRAWN]
    keep = set(shown)
    ids = {node: f"node{i}" for i, node in enumerate(shown, 1)}
    lines = ["flowchart TD"]
    for node in shown:
        members = nodes[node]
        label = node if len(members) == 1 else f"{node} ({len(members)} stages)"
        lines.append(f'\t{ids[node]}["{_label(label)}"]')
    removed_ids = []
    for i, address in enumerate(removed, 1):
        removed_ids.append(f"removed{i}")
        lines.append(f'\tremoved{i}["{_label(address)} (removed)"]')
    for up, down in node_edges:
        if up in keep and down in keep:
            lines.append(f"\t{ids[up]}-->{ids[down]}")
    left_out = [a for a in order if group[a] not in keep]
    if left_out:
        # Past MAX_DRAWN even affected stages are left out: the count says so.
        busy = sum(1 for a in left_out if state[a] != "untouched")
        text = f"{len(left_out)} {'more' if busy else 'untouched'} stages not drawn"
        lines.append(f'\trest["{text} ({busy} of them affected)"]' if busy else f'\trest["{text}"]')
    lines += _legend(bool(removed_ids))
    for name, style in STYLES.items():
        lines.append(f"\tclassDef {name} {style}")
    for name in ("changed", "rerun", "untouched"):
        members = [ids[n] for n in shown if node_state[n] == name]
        if name == "untouched" and left_out:
            members.append("rest")
        if members:
            lines.append(f"\tclass {','.join(members)} {name}")
    if removed_ids:
        lines.append(f"\tclass {','.join(removed_ids)} removed")
    return Picture("\n".join(lines), len(shown), len(left_out))


def _legend(with_removed: bool) -> list[str]:
    lines = ['\tsubgraph legend["Legend"]', "\t\tdirection LR"]
    for name, text in LEGEND.items():
        if name != "removed" or with_removed:
            lines.append(f'\t\tlegend_{name}["{text}"]:::{name}')
    lines.append("\tend")
    return lines


def _label(text: str) -> str:
    # A double quote would end Mermaid's quoted label.
    return text.replace('"', "#quot;")
