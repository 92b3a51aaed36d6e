"""Executes workflows on a runner, with GitHub's semantics.

Called by `conveyor.app.cmd_run` (`selection.select` then `engine.run_all`); imports the
parsed model, `expr`, `plan` and a `runners` Runner; knows nothing of the CLI or terminals
beyond the `Console` it is handed. Must not import promote or reconcile.

    selection   load + validate workflows, event, triggers, dispatch inputs, `-j`
    engine      run the triggered workflows; workflow-level concurrency; event files
    scheduler   needs graph, job `if`, matrix legs, fail-fast, max-parallel, concurrency
    reusable    `jobs.<id>.uses: ./.github/workflows/x.yml` calls
    job         one leg: contexts, GITHUB_*/RUNNER_*, timeout, outputs, summary.md
    steps       one step: `if`, env, its kind's `main`, env files, outcome/conclusion
    kinds       one interface for every kind of step (`StepKind`: pre, main, post)
    factory     picks a step's kind (`step_kind`): script, image, action or built-in
    script      the `run:` kind; actions/ holds the others
    phases      the job's start (every `pre`) and end (the posts)
    scope       a leg while it runs (`JobRun`: `JobSetup` fixed, `JobState` changing) and
                a list of steps (`Scope`)
    output      each output line: workflow commands, masking, logs
    status      success()/failure()/cancelled()/always() as expression Functions
    contexts    `github` and `runner` contexts and the default variables
    concurrency groups: one running and one pending
    session     the run's options and shared services; rundir: where logs go
    results     what a run produced, and its JSON
    envfiles, commands, masking, shell, console: the step machinery (see each module)
    actions/    `uses:` steps: resolution, the action store, composite/node/docker, built-ins
"""
