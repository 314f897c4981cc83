//! One line for an error and its causes, each cause written once.
//!
//! Many errors put their cause in their own message (`cannot open store {target}: {source}`) and also return it
//! from [`Error::source`]; some dependencies do the same (`sqlx` prints its database error and returns it). Writing
//! every link of such a chain, as `anyhow`'s `{:#}` does, repeats the cause once per level:
//! `...: unable to open database file: unable to open database file`. [`report`] leaves out a cause whose text
//! the line already ends with.

use std::error::Error;

/// `error: cause: cause ...`, leaving out each cause whose text the line written so far already ends with (an
/// error that shows its source in its own message) and empty ones.
pub fn report(error: &(dyn Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut next = error.source();
    while let Some(cause) = next {
        let text = cause.to_string();
        if !text.is_empty() && !line.ends_with(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        next = cause.source();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// An error with a message and an optional cause, for building chains.
    #[derive(Debug)]
    struct E {
        text: String,
        cause: Option<Box<E>>,
    }

    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(&self.text)
        }
    }

    impl Error for E {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.cause.as_deref().map(|e| e as &(dyn Error + 'static))
        }
    }

    fn chain(texts: &[&str]) -> E {
        let mut err: Option<E> = None;
        for t in texts.iter().rev() {
            err = Some(E {
                text: (*t).to_owned(),
                cause: err.map(Box::new),
            });
        }
        err.expect("at least one text")
    }

    #[test]
    fn distinct_causes_are_all_written() {
        let e = chain(&["opening the store", "disk full", "os error 28"]);
        assert_eq!(report(&e), "opening the store: disk full: os error 28");
        assert_eq!(report(&chain(&["alone"])), "alone");
    }

    #[test]
    fn a_cause_already_in_the_message_is_written_once() {
        // The shape of a store error over sqlx: every level ends with the text of the one below.
        let e = chain(&[
            "opening the store",
            "cannot open store /x.db: error returned from database: (code: 14) unable to open database file",
            "error returned from database: (code: 14) unable to open database file",
            "(code: 14) unable to open database file",
        ]);
        let line = report(&e);
        assert_eq!(
            line,
            "opening the store: cannot open store /x.db: error returned from database: (code: 14) unable to open \
             database file"
        );
        assert_eq!(line.matches("unable to open database file").count(), 1);
    }

    #[test]
    fn a_cause_met_earlier_but_not_at_the_end_is_still_written() {
        // Only a cause the line ends with is taken as shown; the same words elsewhere do not hide it.
        let e = chain(&["timed out reading /a", "timed out"]);
        assert_eq!(report(&e), "timed out reading /a: timed out");
        let e = chain(&["outer", "", "inner"]);
        assert_eq!(report(&e), "outer: inner");
    }
}
