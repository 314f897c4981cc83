//! Sans-I/O: a SecLang (ModSecurity rule language) engine that loads and runs the OWASP Core Rule Set, and its regression-test runner.
