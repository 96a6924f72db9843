//! Text into sentences, by the rules `scripts/prepare_wiki.py` made the wiki-29k dataset with,
//! so a text split here (natively or in the browser) is split as the shipped data was.
//!
//! A sentence ends at `.`, `!` or `?` followed by whitespace and an upper-case ASCII letter or
//! an opening quote or bracket, unless the period ends an initial ("Arthur C. Clarke") or a
//! common abbreviation; a newline always ends one. The Python script says this with two
//! regular expressions; this is the same scan by hand (the crate has no regex engine on
//! wasm32). A test holds it to the script's output on documents of the corpus.

/// Abbreviations whose period does not end a sentence (the script's `NO_BREAK`).
const ABBREVIATIONS: [&str; 30] = [
    "Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "Prof", "Gen", "Col", "Lt", "Sgt", "Capt", "Mt",
    "Ft", "No", "vs", "Vol", "Inc", "Ltd", "Co", "Corp", "Bros", "approx", "ca", "c", "e.g", "i.e",
    "U.S", "U.K",
];

/// The sentences of `text`, trimmed, none empty.
pub fn split(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.split('\n') {
        let mut pending = String::new();
        for piece in pieces(trim(line)) {
            if !pending.is_empty() {
                pending.push(' ');
            }
            pending.push_str(piece);
            if !holds(&pending) {
                out.push(trim(&pending).to_string());
                pending.clear();
            }
        }
        if !trim(&pending).is_empty() {
            out.push(trim(&pending).to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// A pasted text's documents: its paragraphs (blank lines between them), each split into
/// sentences; paragraphs without a sentence are dropped.
pub fn paragraphs(text: &str) -> Vec<Vec<String>> {
    let mut docs = Vec::new();
    let mut paragraph = String::new();
    for line in text.lines().chain(std::iter::once("")) {
        if trim(line).is_empty() {
            let sentences = split(&paragraph);
            if !sentences.is_empty() {
                docs.push(sentences);
            }
            paragraph.clear();
        } else {
            paragraph.push_str(line);
            paragraph.push('\n');
        }
    }
    docs
}

/// Python's whitespace (`str.isspace`, what `\s` and `strip()` take): Unicode's, and the four
/// ASCII separators 0x1C-0x1F.
fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn trim(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// Python's `\w`: letters, digits (any script) and `_`.
fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// `line` cut at every run of whitespace that follows `.`, `!` or `?` and precedes an
/// upper-case ASCII letter, `"`, `'`, `(` or `[` (the script's `SPLIT`).
fn pieces(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if is_space(c) && matches!(prev, Some('.' | '!' | '?')) {
            let mut end = i + c.len_utf8();
            while let Some(&(j, d)) = chars.peek() {
                if !is_space(d) {
                    break;
                }
                end = j + d.len_utf8();
                chars.next();
            }
            if matches!(chars.peek(), Some(&(_, 'A'..='Z' | '"' | '\'' | '(' | '['))) {
                out.push(&line[start..i]);
                start = end;
            }
            prev = line[..end].chars().next_back();
            continue;
        }
        prev = Some(c);
    }
    out.push(&line[start..]);
    out
}

/// Whether `pending` ends with a period that does not end a sentence: after a single
/// upper-case letter or an abbreviation that starts a word.
fn holds(pending: &str) -> bool {
    let Some(body) = pending.strip_suffix('.') else {
        return false;
    };
    let starts_word = |word: &str| {
        body.strip_suffix(word)
            .is_some_and(|before| !before.chars().next_back().is_some_and(is_word))
    };
    let initial = body
        .chars()
        .next_back()
        .filter(char::is_ascii_uppercase)
        .is_some_and(|c| starts_word(c.encode_utf8(&mut [0; 4])));
    initial || ABBREVIATIONS.iter().any(|a| starts_word(a))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn ends_at_punctuation_then_space_then_a_capital_or_an_opening_quote() {
        assert_eq!(
            split(
                "It rained. Then it stopped! Did it? (Yes.) Sure. \"No,\" he said. [1] More. \
                 'Quoted.' and no split. ok"
            ),
            [
                "It rained.",
                "Then it stopped!",
                "Did it?",
                "(Yes.) Sure.",
                "\"No,\" he said.",
                "[1] More.",
                "'Quoted.' and no split. ok",
            ]
        );
    }

    #[test]
    fn initials_and_abbreviations_hold_a_sentence_together() {
        assert_eq!(
            split("Written by Arthur C. Clarke in the U.S. and by Dr. Who. Next one."),
            [
                "Written by Arthur C. Clarke in the U.S. and by Dr. Who.",
                "Next one."
            ]
        );
        // "etc." is not in the list, and "Inc." must start a word to hold.
        assert_eq!(split("Cats etc. Dogs."), ["Cats etc.", "Dogs."]);
        assert_eq!(split("ZInc. Next."), ["ZInc.", "Next."]);
        assert_eq!(split("Acme Inc. Next."), ["Acme Inc. Next."]);
    }

    #[test]
    fn newlines_end_sentences_and_blank_text_has_none() {
        assert_eq!(
            split("one line\n  two lines  \n\n"),
            ["one line", "two lines"]
        );
        assert!(split(" \n\t\n").is_empty());
        assert_eq!(split("End.   \u{a0} Start"), ["End.", "Start"]);
    }
}
