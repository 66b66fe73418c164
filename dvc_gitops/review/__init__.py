"""`dvc-gitops review BASE [HEAD]`: the pipeline's view of a change, read from git objects.

Two revisions in (no checkout, no data, no DVC), one report out: what changed in the
pipeline and its params, which stages will re-run and why, whether dvc.lock was
reproduced, what the git-tracked metrics did, and a Mermaid picture of it all.

    revisions   each side's files (one `git cat-file --batch`) and resolved pipeline
    changes     stages added / removed / renamed / changed field by field; params key by key
    rerun       stages whose inputs changed, then everything downstream, in run order
    metrics     git-tracked metrics files compared as `dvc metrics diff` does
    picture     the Mermaid flowchart, changed / re-running / untouched styled apart
    report      all of the above as one `Review`; render: markdown, json, text
"""
