//! Sans-I/O: libinjection-class SQL injection and cross-site scripting detection, checked against libinjection's own test files.
