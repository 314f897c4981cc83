//! Sans-I/O: the HTTP request as the WAF reads it (query, cookies, urlencoded/multipart/JSON/XML bodies) and the text transformations of AWS WAF and SecLang.
