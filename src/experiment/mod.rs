//! Experiments as the page and the CLI see them: the page's state (a link's runs, seeds and
//! lesson), the lessons, the runs' labels, seed spreads and rankings, a training's card and
//! the saved runs.

pub mod card;
pub mod labels;
pub mod lessons;
pub mod own_datasets;
pub mod page_state;
pub mod ranking;
pub mod saved_runs;
pub mod scheduler;
pub mod spread;
pub mod y_axis;
