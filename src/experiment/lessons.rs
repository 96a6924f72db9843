//! Lessons: curated experiments with a story a teacher can read out. Each is a page link
//! (its runs, on a sample so a class can retrain them live) and, per run, the full-data run
//! log shipped in `datasets/` whose curves show at once, without training.

pub struct Lesson {
    /// The `lesson=` value.
    pub id: &'static str,
    pub title: &'static str,
    /// Three sentences to read out.
    pub story: [&'static str; 3],
    /// The experiment, as a page query (without `lesson=` and `hide=`).
    pub query: &'static str,
    /// Per run, in order: its shipped full-data run log(s), shown at once without training.
    pub logs: &'static [Shipped],
}

/// Where a lesson run's shipped full-data logs are (`PageState::lesson_logs` makes the paths).
pub enum Shipped {
    /// One log at this path under the site root (the study's runs and the first skip run).
    Log(&'static str),
    /// The campaign's logs of the run named so (`mlp-lr0.001-skip-last`), one per seed the run
    /// repeats over from its own seed up, so the card shows their band:
    /// `datasets/<dataset>/runs/campaign-<name>-seed<seed>.json`.
    Campaign(&'static str),
}

pub const LESSONS: &[Lesson] = &[
    Lesson {
        id: "baselines",
        title: "What the baselines mean",
        story: [
            "Each model reads five sentence embeddings and guesses the sixth; the score is the cosine between guess and truth.",
            "The grey lines learn nothing: copy the last sentence, average the five, or always say the same average sentence.",
            "None of the study's three models rises above copying the last sentence, and the Transformer sits exactly on the constant guess.",
        ],
        query: "dataset=wiki-29k&runs=mlp,lstm,transformer",
        logs: &[
            Shipped::Log("datasets/wiki-29k/pretrained/mlp.json"),
            Shipped::Log("datasets/wiki-29k/pretrained/lstm.json"),
            Shipped::Log("datasets/wiki-29k/pretrained/transformer.json"),
        ],
    },
    Lesson {
        id: "collapse",
        title: "The Transformer that never trained",
        story: [
            "At the study's learning rate the Transformer's validation curve is flat at the train-mean line, and its prediction similarity is 1.000: it outputs one vector whatever it reads.",
            "The study counted that flat curve as a result; it is a model that never learnt, and at a tenth of the learning rate the same Transformer trains: over three seeds its best epochs are 22, 25 and 27, at 0.413 to 0.416.",
            "A skip connection from the last sentence lifts the collapsed model just above copy-last, but its training loss stays flat: it is the last sentence plus one constant vector, still not reading its input.",
        ],
        query: "dataset=wiki-29k&runs=transformer,transformer,transformer&2.lr=0.0001&2.patience=5&2.repeats=3&3.skip=last",
        logs: &[
            Shipped::Log("datasets/wiki-29k/pretrained/transformer.json"),
            Shipped::Campaign("transformer-lr0.0001"),
            Shipped::Log("datasets/wiki-29k/runs/transformer-skip-last.json"),
        ],
    },
    Lesson {
        id: "overfit",
        title: "The MLP overfits",
        story: [
            "The dashed line is the MLP's cosine on the sentences it trains on, the solid line on sentences it never saw.",
            "Training cosine climbs every epoch while validation peaks early and then falls: the model memorises its 26,000 windows.",
            "The playground keeps the best validation epoch, which is why early stopping matters for a model this size.",
        ],
        query: "dataset=wiki-29k&runs=mlp",
        logs: &[Shipped::Log("datasets/wiki-29k/pretrained/mlp.json")],
    },
    Lesson {
        id: "infonce",
        title: "Cosine loss or InfoNCE",
        story: [
            "Both Transformers read the same windows; one is trained to point at the next sentence, the other to tell it apart from the rest of its batch.",
            "The InfoNCE model scores a lower cosine but finds the true next sentence among all 29,000 far more often (see retrieval in its log).",
            "Which is better depends on the question: a close vector, or the right sentence.",
        ],
        query: "dataset=wiki-29k&runs=transformer,transformer-infonce",
        logs: &[
            Shipped::Log("datasets/wiki-29k/pretrained/transformer.json"),
            Shipped::Log("datasets/wiki-29k/pretrained/transformer-infonce.json"),
        ],
    },
    Lesson {
        id: "skip",
        title: "A model that beats copying the last sentence",
        story: [
            "Copy-last is hard to beat because consecutive sentences are close; the study's MLP stays below it.",
            "Give the MLP a skip connection, prediction = last sentence + a learnt correction starting at zero, and it begins exactly at copy-last.",
            "After one epoch it is above the line by about 0.04, then overfits; the margin is the first real learning in this playground.",
        ],
        query: "dataset=wiki-29k&runs=mlp,mlp&2.skip=last",
        logs: &[
            Shipped::Log("datasets/wiki-29k/pretrained/mlp.json"),
            Shipped::Log("datasets/wiki-29k/pretrained/mlp-skip-last.json"),
        ],
    },
    Lesson {
        id: "still-win",
        title: "Does the MLP still win?",
        story: [
            "Trained well, each at its own learning rate and with a skip from the last sentence, the LSTM comes first at 0.4954, the MLP second at 0.4941 and the Transformer third at 0.4927: the study's gap came from sequence models that never trained.",
            "All three stand above every line that learns nothing: copy-last 0.453, and ridge regression, the best straight line solved in one step, 0.462.",
            "Each band spans a run's three seeds: the LSTM's lies above the others', so its lead, under 0.002, is real but tiny; the Transformer's seeds lie 0.0031 apart, more than its 0.0014 gap to the MLP, and the two bands overlap, so that order is not settled.",
        ],
        query: "dataset=wiki-29k&runs=mlp,transformer,linear,lstm&1.skip=last&1.patience=5&1.repeats=3&2.lr=0.0001&2.skip=last&2.patience=5&2.repeats=3&3.skip=last&3.patience=5&3.repeats=3&4.lr=0.0003&4.skip=last&4.patience=5&4.repeats=3",
        logs: &[
            Shipped::Campaign("mlp-lr0.001-skip-last"),
            Shipped::Campaign("transformer-lr0.0001-skip-last"),
            Shipped::Campaign("linear-lr0.001-skip-last"),
            Shipped::Campaign("lstm-lr0.0003-skip-last"),
        ],
    },
    Lesson {
        id: "linear",
        title: "How far a straight line goes",
        story: [
            "The dotted ridge line is the best linear map from the five sentences to the next, solved in one step without training: 0.462, above copy-last.",
            "A linear layer trained by gradient descent reaches 0.447 and the study's MLP only 0.427 (three seeds each): without help the MLP does worse than a straight line, because it overfits after two epochs.",
            "Give both a skip from the last sentence and both improve, the linear map to 0.478 and the MLP to 0.494: the 0.016 between them, sixteen times the larger spread over three seeds, is all that the MLP's non-linearity adds.",
        ],
        query: "dataset=wiki-29k&runs=linear,mlp,linear,mlp&1.patience=5&1.repeats=3&2.patience=5&2.repeats=3&3.skip=last&3.patience=5&3.repeats=3&4.skip=last&4.patience=5&4.repeats=3",
        logs: &[
            Shipped::Campaign("linear-lr0.001"),
            Shipped::Campaign("mlp-lr0.001"),
            Shipped::Campaign("linear-lr0.001-skip-last"),
            Shipped::Campaign("mlp-lr0.001-skip-last"),
        ],
    },
    Lesson {
        id: "within",
        title: "Inside one document",
        story: [
            "Here every window lies inside one of brown-29k's long documents, and the lines that learn nothing change places: the mean of the five sentences (0.419) beats copying the last one (0.335), because a document's topic carries further than its last sentence.",
            "So the skip that helps is from the mean: with it the MLP and the LSTM both reach 0.446, their seeds' ranges overlapping, and the linear map 0.437, all above ridge regression's 0.427 (three seeds each); the Transformer with it, at the lr 3e-4 its sweep picked, learns for a few epochs, then collapses to the context's mean plus a constant (0.436, its training loss flat; at lr 1e-4 it does not).",
            "Without a skip the linear layer (0.421) again beats the study's MLP (0.413); with the same skip the MLP's non-linearity adds 0.009, nine times the larger spread over seeds.",
        ],
        query: "dataset=brown-29k&windows=within&runs=linear,mlp,linear,mlp,lstm,transformer&1.patience=5&1.repeats=3&2.patience=5&2.repeats=3&3.skip=mean&3.patience=5&3.repeats=3&4.skip=mean&4.patience=5&4.repeats=3&5.lr=0.0003&5.skip=mean&5.patience=5&5.repeats=3&6.lr=0.0003&6.warmup=400&6.skip=mean&6.patience=5&6.repeats=3",
        logs: &[
            Shipped::Campaign("linear-lr0.001"),
            Shipped::Campaign("mlp-lr0.001"),
            Shipped::Campaign("linear-lr0.001-skip-mean"),
            Shipped::Campaign("mlp-lr0.001-skip-mean"),
            Shipped::Campaign("lstm-lr0.0003-skip-mean"),
            Shipped::Campaign("transformer-lr0.0003-warmup400-skip-mean"),
        ],
    },
];

pub fn find(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.id == id)
}

impl Lesson {
    /// The page link a class opens: the runs, only plots and results shown.
    pub fn link(&self) -> String {
        format!("lesson={}&{}&hide=controls", self.id, self.query)
    }
}
