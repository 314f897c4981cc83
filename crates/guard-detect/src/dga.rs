//! A lexical score for "machine-generated" domain labels, of our own design (no trained
//! model): random-looking labels have rare letter pairs, long consonant runs, few vowels,
//! digits mixed into letters and high character entropy; names people choose do not.
//!
//! [`score`] maps a label to 0.0–1.0 as a weighted sum of five normalised features:
//!
//! | Feature | Weight | Normalisation |
//! |---|---|---|
//! | share of adjacent letter pairs outside [`COMMON_BIGRAMS`] | 0.35 | as is |
//! | Shannon entropy (bits/char) | 0.20 | (H − 2.5) / 1.5, clamped |
//! | longest consonant run | 0.20 | (run − 2) / 4, clamped |
//! | digits mixed with letters | 0.10 | 3 × digit share, clamped |
//! | vowel scarcity | 0.15 | (0.3 − vowel share) / 0.3, clamped |
//!
//! Labels shorter than [`MIN_LABEL_LEN`] and punycode (`xn--`) score 0: too little signal.

/// Shortest label scored.
pub const MIN_LABEL_LEN: usize = 7;

/// Frequent English letter pairs (general knowledge of English text, not a trained table).
pub const COMMON_BIGRAMS: &[&str] = &[
    "th", "he", "in", "er", "an", "re", "on", "at", "en", "nd", "ti", "es", "or", "te", "of", "ed",
    "is", "it", "al", "ar", "st", "to", "nt", "ng", "se", "ha", "as", "ou", "io", "le", "ve", "co",
    "me", "de", "hi", "ri", "ro", "ic", "ne", "ea", "ra", "ce", "li", "ch", "ll", "be", "ma", "si",
    "om", "ur", "ca", "el", "ta", "la", "ns", "di", "fo", "ho", "pe", "ec", "pr", "no", "ct", "us",
    "ac", "ot", "il", "tr", "ly", "nc", "et", "ut", "ss", "so", "rs", "un", "lo", "wa", "ge", "ie",
    "wh", "ee", "wi", "em", "ad", "ol", "rt", "po", "we", "na", "ul", "ni", "ts", "mo", "ow", "pa",
    "im", "mi", "ai", "sh", "ir", "su", "id", "os", "iv", "ia", "am", "fi", "ci", "vi", "pl", "ig",
    "tu", "ev", "ld", "ry", "mp", "fe", "bl", "ab", "gh", "ty", "op", "wo", "sa", "ay", "ex", "ke",
    "fr", "oo", "av", "ag", "if", "ap", "gr", "od", "bo", "sp", "rd", "do", "uc", "bu", "ei", "ov",
    "by", "rm", "ep", "tt", "oc", "fa", "ef", "cu", "rn", "sc", "gi", "da", "yo", "cr", "cl", "du",
    "ga", "qu", "ue", "ff", "ba", "ey", "ls", "va", "um", "pp", "ua", "up", "lu", "go", "ht", "ru",
    "ug", "ds", "lt", "pi", "rc", "rr", "eg", "au", "ck", "ew", "mu", "br", "bi", "pt", "ak", "pu",
    "ui", "rg", "ib", "tl", "ny", "ki", "rk", "ys", "ob", "mm", "fu", "ph", "og", "ms", "ye", "ud",
    "mb", "ip", "ub", "oi", "rl", "gu", "dr", "hr", "cc", "tw", "ft", "wn", "nu", "af", "hu", "nn",
    "eo", "vo", "rv", "nf", "xp", "gn", "sm", "fl", "iz", "ok", "nl", "my", "gl", "aw", "ju", "oa",
    "sy", "sl", "ps", "jo", "lf", "nk", "kn", "gs", "dy", "hy", "ze", "ks", "xt", "bs", "ik", "dd",
    "cy", "sk", "oe", "oy", "ws", "za", "ja", "ax", "ox", "zo", "ka", "ya", "ah", "ae",
];

fn is_vowel(c: u8) -> bool {
    matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y')
}

/// Shannon entropy of the bytes of `s`, in bits per character.
pub fn shannon_entropy(s: &str) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for b in s.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b)) {
            *c += 1;
        }
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The DGA score of one label (lower case expected), 0.0–1.0.
pub fn score(label: &str) -> f64 {
    let b = label.as_bytes();
    if b.len() < MIN_LABEL_LEN || label.starts_with("xn--") {
        return 0.0;
    }
    let letters = b.iter().filter(|c| c.is_ascii_alphabetic()).count();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let vowels = b.iter().filter(|c| is_vowel(**c)).count();
    let (mut pairs, mut rare) = (0usize, 0usize);
    for w in b.windows(2) {
        if let [x, y] = w
            && x.is_ascii_alphabetic()
            && y.is_ascii_alphabetic()
        {
            pairs += 1;
            let pair = [*x, *y];
            let common = std::str::from_utf8(&pair).is_ok_and(|p| COMMON_BIGRAMS.contains(&p));
            if !common {
                rare += 1;
            }
        }
    }
    let (mut run, mut longest) = (0usize, 0usize);
    for c in b {
        if c.is_ascii_alphabetic() && !is_vowel(*c) {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let clamp = |x: f64| x.clamp(0.0, 1.0);
    let len = b.len() as f64;
    let rarity = if pairs == 0 {
        1.0
    } else {
        rare as f64 / pairs as f64
    };
    let entropy = clamp((shannon_entropy(label) - 2.5) / 1.5);
    let consonants = clamp((longest as f64 - 2.0) / 4.0);
    let mixed = if letters > 0 && digits > 0 {
        clamp(3.0 * digits as f64 / len)
    } else {
        0.0
    };
    let vowel_share = if letters == 0 {
        0.0
    } else {
        vowels as f64 / letters as f64
    };
    let scarcity = clamp((0.3 - vowel_share) / 0.3);
    0.35 * rarity + 0.20 * entropy + 0.20 * consonants + 0.10 * mixed + 0.15 * scarcity
}

/// Two-letter second-level labels under country TLDs that act as public suffixes
/// (`co.uk`, `com.au`, ...).
const SECOND_LEVEL: &[&str] = &[
    "co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go",
];

/// The registered domain of a normalised name: the last two labels, or three when the
/// second-level label is a generic one under a two-letter country TLD.
pub fn registered_domain(name: &str) -> &str {
    let mut dots = name.rmatch_indices('.').map(|(i, _)| i);
    let Some(last) = dots.next() else {
        return name;
    };
    let Some(second) = dots.next() else {
        return name;
    };
    let tld = name.get(last + 1..).unwrap_or("");
    let sld = name.get(second + 1..last).unwrap_or("");
    if tld.len() == 2 && SECOND_LEVEL.contains(&sld) {
        return match dots.next() {
            Some(third) => name.get(third + 1..).unwrap_or(name),
            None => name,
        };
    }
    name.get(second + 1..).unwrap_or(name)
}

/// The label that was chosen by whoever registered `name` (`example` of `a.example.co.uk`).
pub fn registered_label(name: &str) -> &str {
    let reg = registered_domain(name);
    reg.split('.').next().unwrap_or(reg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_names_score_low() {
        for l in [
            "google",
            "amazonaws",
            "cloudfront",
            "microsoft",
            "wikipedia",
            "ubuntu",
            "github",
            "stackoverflow",
            "netflix",
            "facebook",
            "guardduty",
            "akamaiedge",
            "googleapis",
            "debian",
            "docker",
            "slack",
            "zoom",
            "office",
            "windowsupdate",
            "example",
            "bloomberg",
            "dropbox",
            "salesforce",
            "atlassian",
            "gstatic",
        ] {
            assert!(score(l) < DGA_THRESHOLD, "{l}: {}", score(l));
        }
    }

    const DGA_THRESHOLD: f64 = crate::config::DGA_MIN_SCORE;

    #[test]
    fn random_labels_score_high() {
        for l in [
            "xjw3kq9vzp",
            "qmxvbtrlkwpz",
            "kdjfhqwpxzmv",
            "zx8f7g6h5j4k",
            "bcdfghjklmnp",
            "q7x9w2k4z8p1v",
            "mnbvcxzlkjhg",
            "tpqzxwvkrb",
        ] {
            assert!(score(l) >= DGA_THRESHOLD, "{l}: {}", score(l));
        }
    }

    #[test]
    fn registered_domains() {
        assert_eq!(registered_domain("a.b.example.com"), "example.com");
        assert_eq!(registered_domain("www.bbc.co.uk"), "bbc.co.uk");
        assert_eq!(registered_domain("co.uk"), "co.uk");
        assert_eq!(registered_domain("localhost"), "localhost");
        assert_eq!(
            registered_label("x.y.guarddutyc2activityb.com"),
            "guarddutyc2activityb"
        );
        assert!((shannon_entropy("aaaa") - 0.0).abs() < 1e-9);
        assert!((shannon_entropy("ab") - 1.0).abs() < 1e-9);
    }

    proptest::proptest! {
        #[test]
        fn score_is_bounded(s in "\\PC{0,80}") {
            let v = score(&s);
            proptest::prop_assert!((0.0..=1.0).contains(&v));
            let _ = registered_domain(&s);
        }
    }
}
