//! The page–worker protocol: everything the page (or a test harness) sends a training worker
//! and everything the worker sends back, as two serde enums.
//!
//! Every message is a JSON string. The payloads that are bytes travel beside their message as a
//! transferred buffer, `postMessage([json, bytes])`: the checkpoint of [`ToWorker::Pretrained`],
//! the sentences of [`ToWorker::Embed`] (a JSON array of strings), the sentence vectors of
//! [`ToWorker::Continue`] (float32, row-major), the weights of
//! [`FromWorker::Export`] and the vectors of [`FromWorker::Embedded`] (float32, row-major). Decoding is bounded and
//! names what is wrong; a worker answers a message it cannot read with a
//! [`Cause::Protocol`] failure.

use crate::config::RunConfig;
use crate::session::messages::{Command, Event};
use crate::train::bench::{ProductRate, Speed};
use serde::{Deserialize, Serialize};

/// Longest JSON message a worker reads (its messages are a few hundred bytes).
pub const MAX_TO_WORKER_BYTES: usize = 16 * 1024;

/// From the page to a worker.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum ToWorker {
    /// Sets up a run (paused): its config and where its dataset's files are.
    Init(Init),
    /// Evaluates the checkpoint sent beside this message on its own run's validation windows.
    Pretrained(DatasetAt),
    /// The run's log (JSON, CSV) and best weights so far.
    Export,
    /// Times training steps and inference batches of a config, as `lvm bench` does.
    Bench(BenchRequest),
    /// Times the study's largest matrix products alone.
    Products { reps: usize },
    /// Embeds the sentences sent beside this message with a sentence encoder.
    Embed(EmbedRequest),
    /// The run's model continues the user's sentences, whose vectors (float32, row-major)
    /// come beside this message: answered with an `Event::Continued`.
    Continue,
    /// Run, pause, step or stop the run: `{"type":"run"}` and so on, the session's own
    /// commands (last: serde tries it after every other type).
    #[serde(untagged)]
    Command(Command),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedRequest {
    /// The encoder's name (`crate::data::embed::ENCODERS`).
    pub encoder: String,
    /// URL prefix of its files (`models/all-MiniLM-L6-v2/`), kept in the Cache API.
    pub files: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Init {
    /// The run's config (as a query string on the wire).
    #[serde(with = "crate::config::as_query")]
    pub config: RunConfig,
    /// URL prefix of the dataset's files (`datasets/wiki-29k/`), read from the Cache API.
    pub dataset: String,
    /// Continue the run saved in this browser (`crate::experiment::saved_runs`) instead of starting it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub resume: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetAt {
    pub dataset: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchRequest {
    #[serde(with = "crate::config::as_query")]
    pub config: RunConfig,
    pub dataset: String,
    #[serde(default = "default_warmup")]
    pub warmup: usize,
    #[serde(default = "default_steps")]
    pub steps: usize,
}

fn default_warmup() -> usize {
    3
}

fn default_steps() -> usize {
    10
}

/// From a worker to the page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWorker {
    /// The worker listens (messages sent before this are lost), and its matrix products use
    /// `threads` threads.
    Ready {
        threads: usize,
    },
    /// What the run did (started, progress, an epoch, a failure, …).
    Event {
        event: Event,
    },
    /// The run's log; its weights (safetensors) come beside this message.
    Export(ExportedLog),
    Bench(BenchReply),
    Products {
        rates: Vec<ProductRate>,
        /// The own kernel's register tile alone (`models::kernel::tile_rate`): the limit of
        /// this worker's 128-bit multiply-and-add, measured.
        #[serde(default)]
        tile_gflops: f64,
    },
    /// How an embedding goes: the encoder's download, then sentences done.
    Embedding {
        status: String,
        fraction: f64,
    },
    /// The sentence vectors, `[count, dim]` float32, come beside this message; they took
    /// `seconds` once the encoder was loaded.
    Embedded {
        count: usize,
        dim: usize,
        seconds: f64,
    },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExportedLog {
    pub json: String,
    pub csv: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReply {
    pub speed: Speed,
    /// The worker's whole linear memory after the benchmark (it never shrinks).
    pub memory_bytes: usize,
}

impl From<Command> for ToWorker {
    fn from(command: Command) -> Self {
        ToWorker::Command(command)
    }
}

impl ToWorker {
    /// The session command this message is, if it is one.
    pub fn command(&self) -> Option<Command> {
        match self {
            ToWorker::Command(c) => Some(*c),
            _ => None,
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    /// Bounded decoding; the error says what is wrong in a sentence.
    pub fn from_json(json: &str) -> Result<Self, String> {
        if json.len() > MAX_TO_WORKER_BYTES {
            return Err(format!(
                "a message of {} bytes; at most {MAX_TO_WORKER_BYTES}",
                json.len()
            ));
        }
        let bad = |e: String| {
            format!(
                "not a message for a worker ({e}): {}",
                json.chars().take(60).collect::<String>()
            )
        };
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
        let fields = value.as_object().map_or(0, |o| o.len());
        let message: Self = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        // serde lets stray keys through on a tagged unit variant; those messages are only a type.
        let unit = matches!(
            message,
            ToWorker::Command(_) | ToWorker::Export | ToWorker::Continue
        );
        if unit && fields != 1 {
            return Err(bad("it takes no fields but its type".into()));
        }
        Ok(message)
    }
}

/// The bytes beside a message that carries sentence vectors (`ToWorker::Continue`,
/// `FromWorker::Embedded`): float32, little-endian, row-major.
pub fn vectors_to_bytes(vectors: &[f32]) -> Vec<u8> {
    vectors.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The vectors in such bytes (a trailing partial float is dropped).
pub fn vectors_from_bytes(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("plain data serialises")
    }

    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json)
            .map_err(|e| format!("the worker sent an unreadable message ({e})"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::messages::RunState;

    #[test]
    fn messages_round_trip_in_the_shape_a_script_writes() {
        let mlp = RunConfig::from_query("model=mlp&sample=300").unwrap();
        let init = ToWorker::Init(Init {
            config: mlp.clone(),
            dataset: "datasets/wiki-29k/".into(),
            resume: false,
        });
        // The config travels typed and reads, on the wire, as its link.
        assert_eq!(
            init.to_json(),
            format!(
                r#"{{"type":"init","config":"{}","dataset":"datasets/wiki-29k/"}}"#,
                mlp.to_query()
            )
        );
        let resume = ToWorker::Init(Init {
            config: mlp.clone(),
            dataset: "d/".into(),
            resume: true,
        });
        assert!(resume
            .to_json()
            .ends_with(r#","dataset":"d/","resume":true}"#));
        // A script may write a short query: the model's defaults fill the rest.
        let short = ToWorker::from_json(
            r#"{"type":"init","config":"model=mlp&sample=300","dataset":"d/"}"#,
        );
        assert!(matches!(short, Ok(ToWorker::Init(Init { ref config, .. })) if *config == mlp));
        for m in [
            init,
            resume,
            ToWorker::Command(Command::Run),
            ToWorker::Command(Command::Stop),
            ToWorker::Export,
            ToWorker::Products { reps: 3 },
            ToWorker::Pretrained(DatasetAt {
                dataset: "datasets/brown-29k/".into(),
            }),
            ToWorker::Embed(EmbedRequest {
                encoder: "all-MiniLM-L6-v2".into(),
                files: "models/all-MiniLM-L6-v2/".into(),
            }),
        ] {
            assert_eq!(ToWorker::from_json(&m.to_json()).unwrap(), m);
        }
        // The session's commands are messages of their own type.
        for (json, command) in [
            (r#"{"type":"run"}"#, Command::Run),
            (r#"{"type":"pause"}"#, Command::Pause),
            (r#"{"type":"step"}"#, Command::Step),
            (r#"{"type":"stop"}"#, Command::Stop),
        ] {
            let m = ToWorker::from_json(json).unwrap();
            assert_eq!(m.command(), Some(command));
            assert_eq!(m.to_json(), json);
        }
        assert_eq!(ToWorker::Export.command(), None);
        // What tests/e2e's harness sends: the defaults fill what it leaves out.
        let b = ToWorker::from_json(
            r#"{"type":"bench","config":"model=mlp","dataset":"d/","steps":4}"#,
        );
        assert!(matches!(
            b,
            Ok(ToWorker::Bench(BenchRequest {
                warmup: 3,
                steps: 4,
                ..
            }))
        ));
        let e = FromWorker::Event {
            event: Event::State {
                state: RunState::Finished,
            },
        };
        assert_eq!(
            e.to_json(),
            r#"{"type":"event","event":{"type":"state","state":"finished"}}"#
        );
        assert_eq!(FromWorker::from_json(&e.to_json()).unwrap(), e);
        assert_eq!(
            FromWorker::from_json(r#"{"type":"ready","threads":2}"#).unwrap(),
            FromWorker::Ready { threads: 2 }
        );
        let done = FromWorker::Embedded {
            count: 3,
            dim: 384,
            seconds: 0.5,
        };
        assert_eq!(
            done.to_json(),
            r#"{"type":"embedded","count":3,"dim":384,"seconds":0.5}"#
        );
        assert_eq!(FromWorker::from_json(&done.to_json()).unwrap(), done);
        let v = [1.0, -0.5, f32::MIN_POSITIVE, 3.25e7];
        assert_eq!(vectors_from_bytes(&vectors_to_bytes(&v)), v);
        assert_eq!(vectors_to_bytes(&[1.0]), [0, 0, 0x80, 0x3f]);
    }

    #[test]
    fn bad_messages_are_named_and_bounded() {
        for bad in [
            "",
            "run",
            r#"{"type":"fly"}"#,
            r#"{"type":"run","extra":1}"#,
            r#"{"type":"pause","x":1}"#,
            r#"{"type":"explode"}"#,
            r#"{"type":"init","config":"model=mlp&lr=7","dataset":"d/"}"#,
            r#"{"type":"bench","config":"model=rnn","dataset":"d/"}"#,
            r#"{"type":"init","config":"model=mlp"}"#,
            r#"{"type":"products","reps":-1}"#,
        ] {
            let e = ToWorker::from_json(bad).unwrap_err();
            assert!(e.starts_with("not a message for a worker"), "{bad}: {e}");
        }
        let long = format!(
            r#"{{"type":"init","config":"{}","dataset":""}}"#,
            "x".repeat(MAX_TO_WORKER_BYTES)
        );
        assert!(ToWorker::from_json(&long).unwrap_err().contains("at most"));
        assert!(FromWorker::from_json("{").is_err());
        // A bad config is named by its key, as on the page.
        let e = ToWorker::from_json(r#"{"type":"init","config":"model=mlp&lr=7","dataset":"d/"}"#)
            .unwrap_err();
        assert!(e.contains("lr"), "{e}");
    }
}
