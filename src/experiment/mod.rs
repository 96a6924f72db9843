//! Experiments as the page and the CLI see them: the page's state (a link's runs, seeds and
//! lesson), the lessons, the runs' labels, seed spreads and rankings, a training's card and
//! what it says, the knobs' labels, the dataset's status line and the saved runs.

pub mod card;
pub mod card_text;
pub mod data_status;
pub mod knobs;
pub mod labels;
pub mod lessons;
pub mod own_datasets;
pub mod page_state;
pub mod ranking;
pub mod saved_runs;
pub mod scheduler;
pub mod spread;
pub mod y_axis;
