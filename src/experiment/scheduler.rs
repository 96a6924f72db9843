//! The page's decisions in plain Rust, so they are tested natively: what a button asks for
//! (a [`PageAction`], parsed once from its `data-action`), which command a new training starts
//! with, and what Pause, Resume, Step and Stop do to which training. Which queued trainings get
//! a worker, with how many threads, is [`crate::experiment::card::to_start`]. The page
//! (`web/page`) only carries out the plans: it posts, spawns and draws.

use crate::experiment::card::{Phase, Training};
use crate::session::messages::{Command, RunState};

/// What the page exports from a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportKind {
    Json,
    Csv,
    Weights,
}

/// A button's action: its `data-action` and, for a run's own buttons, the run (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageAction {
    /// Train every run and seed afresh.
    Train,
    CopyLink,
    ForgetSaved,
    /// Continue this run's trainings saved in this browser.
    ResumeSaved(usize),
    EmbedText,
    ContinueText,
    AddRun,
    Duplicate(usize),
    Remove(usize),
    /// Evaluate the study's pretrained weights of this run.
    Pretrained(usize),
    Export(usize, ExportKind),
    /// Pause, resume (`Command::Run`), step or stop every run, or one.
    Command(Command, Option<usize>),
}

impl PageAction {
    /// The action a button names; `None` for an unknown one, or a run's own action without
    /// its run.
    pub fn parse(action: &str, run: Option<usize>) -> Option<Self> {
        let on_run = |f: fn(usize) -> Self| run.map(f);
        match action {
            "train" => Some(Self::Train),
            "copy-link" => Some(Self::CopyLink),
            "forget-saved" => Some(Self::ForgetSaved),
            "embed-text" => Some(Self::EmbedText),
            "continue-text" => Some(Self::ContinueText),
            "add-run" => Some(Self::AddRun),
            "resume-saved" => on_run(Self::ResumeSaved),
            "duplicate" => on_run(Self::Duplicate),
            "remove" => on_run(Self::Remove),
            "pretrained" => on_run(Self::Pretrained),
            "export-json" => run.map(|r| Self::Export(r, ExportKind::Json)),
            "export-csv" => run.map(|r| Self::Export(r, ExportKind::Csv)),
            "export-weights" => run.map(|r| Self::Export(r, ExportKind::Weights)),
            "pause" => Some(Self::Command(Command::Pause, run)),
            "resume" => Some(Self::Command(Command::Run, run)),
            "step" => Some(Self::Command(Command::Step, run)),
            "stop" => Some(Self::Command(Command::Stop, run)),
            _ => None,
        }
    }
}

/// How new trainings start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    Train,
    /// One step, then paused (Step pressed with nothing to step).
    Step,
    /// Continue this run's (0-based) saved trainings.
    Resume(usize),
}

impl Start {
    /// The command a new training's worker gets after its config.
    pub fn command(self) -> Command {
        match self {
            Start::Step => Command::Step,
            Start::Train | Start::Resume(_) => Command::Run,
        }
    }
}

/// One training as the scheduler sees it: the run it belongs to, its card state, and the
/// command it will start with once it has a worker.
pub struct Scheduled<'a> {
    pub run: usize,
    pub training: &'a mut Training,
    pub start: &'a mut Command,
}

/// What a Pause/Resume/Step/Stop click comes to.
#[derive(Debug, PartialEq, Eq)]
pub enum CommandPlan {
    /// Nothing is running, paused or queued: Step starts new trainings, stepping.
    StartStepping,
    /// Post the command to these trainings' workers (indices into the trainings given).
    /// Queued ones have already taken it: they start as told last, or never once stopped.
    Post(Vec<usize>),
}

/// A training with a live worker that can still take commands.
fn trainable(t: &Training) -> bool {
    matches!(t.phase, Phase::Run(_)) && !t.is_over()
}

/// Applies `command` to the trainings of `run` (all runs when `None`).
pub fn plan_command(
    trainings: &mut [Scheduled<'_>],
    command: Command,
    run: Option<usize>,
) -> CommandPlan {
    let any = trainings
        .iter()
        .any(|s| trainable(s.training) || s.training.phase == Phase::Queued);
    if command == Command::Step && !any {
        return CommandPlan::StartStepping;
    }
    let mut post = Vec::new();
    for (i, s) in trainings.iter_mut().enumerate() {
        if run.is_some_and(|r| r != s.run) {
            continue;
        }
        if s.training.phase == Phase::Queued {
            match command {
                Command::Stop => s.training.phase = Phase::Run(RunState::Stopped),
                c => *s.start = c,
            }
        } else if trainable(s.training) {
            post.push(i);
        }
    }
    CommandPlan::Post(post)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;

    #[test]
    fn every_button_parses_to_one_action() {
        use PageAction as A;
        let cases = [
            ("train", None, Some(A::Train)),
            ("copy-link", Some(2), Some(A::CopyLink)),
            ("resume-saved", Some(1), Some(A::ResumeSaved(1))),
            ("resume-saved", None, None),
            ("duplicate", Some(0), Some(A::Duplicate(0))),
            ("remove", Some(3), Some(A::Remove(3))),
            ("pretrained", Some(0), Some(A::Pretrained(0))),
            ("export-csv", Some(1), Some(A::Export(1, ExportKind::Csv))),
            ("export-weights", None, None),
            ("pause", None, Some(A::Command(Command::Pause, None))),
            // "resume" is the Run command, said outright (it used to fall through a match).
            ("resume", Some(1), Some(A::Command(Command::Run, Some(1)))),
            ("step", None, Some(A::Command(Command::Step, None))),
            ("stop", Some(0), Some(A::Command(Command::Stop, Some(0)))),
            ("fly", None, None),
            ("", Some(0), None),
        ];
        for (action, run, want) in cases {
            assert_eq!(PageAction::parse(action, run), want, "{action} {run:?}");
        }
        assert_eq!(Start::Step.command(), Command::Step);
        assert_eq!(Start::Resume(0).command(), Command::Run);
    }

    fn training(phase: Phase) -> Training {
        let mut t = Training::queued(RunConfig::default());
        t.phase = phase;
        t
    }

    /// Runs `command` on trainings in `phases` (run index, phase); gives the plan and each
    /// training's phase and start command after.
    fn plan(
        phases: &[(usize, Phase)],
        command: Command,
        run: Option<usize>,
    ) -> (CommandPlan, Vec<(Phase, Command)>) {
        let mut trainings: Vec<Training> =
            phases.iter().map(|(_, p)| training(p.clone())).collect();
        let mut starts = vec![Command::Run; phases.len()];
        let mut scheduled: Vec<Scheduled> = trainings
            .iter_mut()
            .zip(starts.iter_mut())
            .zip(phases)
            .map(|((training, start), (run, _))| Scheduled {
                run: *run,
                training,
                start,
            })
            .collect();
        let p = plan_command(&mut scheduled, command, run);
        let after = trainings.into_iter().map(|t| t.phase).zip(starts).collect();
        (p, after)
    }

    #[test]
    fn step_with_nothing_to_step_starts_trainings_stepping() {
        let over = [
            (0, Phase::Run(RunState::Finished)),
            (1, Phase::Run(RunState::Stopped)),
        ];
        assert_eq!(
            plan(&over, Command::Step, None).0,
            CommandPlan::StartStepping
        );
        assert_eq!(plan(&[], Command::Step, None).0, CommandPlan::StartStepping);
        // Pause with nothing running does nothing at all.
        assert_eq!(
            plan(&over, Command::Pause, None).0,
            CommandPlan::Post(vec![])
        );
        // A queued training is something to step: it will start stepping.
        let (p, after) = plan(&[(0, Phase::Queued)], Command::Step, None);
        assert_eq!(p, CommandPlan::Post(vec![]));
        assert_eq!(after, [(Phase::Queued, Command::Step)]);
    }

    #[test]
    fn commands_reach_the_live_trainings_of_their_run_and_queued_ones_remember() {
        let phases = [
            (0, Phase::Run(RunState::Running)),
            (0, Phase::Queued),
            (1, Phase::Run(RunState::Paused)),
            (1, Phase::Run(RunState::Finished)),
            (1, Phase::Queued),
        ];
        // Everywhere: both live ones get it; the queued ones will start paused.
        let (p, after) = plan(&phases, Command::Pause, None);
        assert_eq!(p, CommandPlan::Post(vec![0, 2]));
        assert_eq!(after[1], (Phase::Queued, Command::Pause));
        assert_eq!(after[4], (Phase::Queued, Command::Pause));
        // One run's button: only that run.
        let (p, after) = plan(&phases, Command::Run, Some(1));
        assert_eq!(p, CommandPlan::Post(vec![2]));
        assert_eq!(after[1], (Phase::Queued, Command::Run));
        // Stop ends a queued training before it starts; the finished one is left alone.
        let (p, after) = plan(&phases, Command::Stop, Some(1));
        assert_eq!(p, CommandPlan::Post(vec![2]));
        assert_eq!(after[4].0, Phase::Run(RunState::Stopped));
        assert_eq!(after[3].0, Phase::Run(RunState::Finished));
        assert_eq!(after[1].0, Phase::Queued);
    }
}
