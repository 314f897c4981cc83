//! Semantics on small rule snippets.

use portcullis_waf_request::Request;

use crate::{Disruption, Intervention, RuleSet, Transaction};

struct Outcome {
    intervention: Option<Intervention>,
    ids: Vec<u64>,
    logged: Vec<u64>,
    lines: Vec<String>,
    tx: Vec<(String, Option<String>)>,
}

fn run(rules: &str, req: &Request, tx_keys: &[&str]) -> Outcome {
    let (rs, report) = RuleSet::from_sources(&[("t.conf".into(), rules.into())], None).unwrap();
    assert!(report.unsupported.is_empty(), "{:?}", report.unsupported);
    let mut t = Transaction::new(&rs, req);
    let intervention = t.process_request();
    t.finish();
    Outcome {
        intervention,
        ids: t.matched_rule_ids().to_vec(),
        logged: t.logs().iter().map(|l| l.rule_id).collect(),
        lines: t.logs().iter().map(ToString::to_string).collect(),
        tx: tx_keys.iter().map(|k| (k.to_string(), t.tx(k))).collect(),
    }
}

fn get(uri: &str) -> Request {
    Request::builder().uri(uri).header("Host", "h").build()
}

fn tx<'a>(o: &'a Outcome, k: &str) -> Option<&'a str> {
    o.tx.iter()
        .find(|(n, _)| n == k)
        .and_then(|(_, v)| v.as_deref())
}

#[test]
fn deny_in_on_mode_and_log_only_in_detection_only() {
    let rule = "SecRule ARGS:q \"@contains evil\" \"id:1,phase:1,deny,status:406,msg:'bad %{MATCHED_VAR}'\"";
    let on = run(&format!("SecRuleEngine On\n{rule}"), &get("/?q=evil"), &[]);
    let i = on.intervention.unwrap();
    assert_eq!(
        (i.status, i.rule_id, i.disruptive),
        (406, Some(1), Disruption::Deny)
    );
    assert!(
        on.lines[0].contains(r#"[msg "bad evil"]"#),
        "{:?}",
        on.lines
    );
    let det = run(
        &format!("SecRuleEngine DetectionOnly\n{rule}"),
        &get("/?q=evil"),
        &[],
    );
    assert!(det.intervention.is_none());
    assert_eq!(det.logged, vec![1]);
    let off = run(&format!("SecRuleEngine Off\n{rule}"), &get("/?q=evil"), &[]);
    assert!(off.ids.is_empty());
}

#[test]
fn chain_requires_every_link_and_runs_link_actions() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS:a "@streq 1" "id:10,phase:1,pass,setvar:tx.first=1,chain"
    SecRule ARGS:b "@streq 2" "setvar:tx.second=1"
"#;
    let both = run(rules, &get("/?a=1&b=2"), &["first", "second"]);
    assert_eq!(both.ids, vec![10]);
    assert_eq!(tx(&both, "second"), Some("1"));
    let one = run(rules, &get("/?a=1&b=3"), &["first", "second"]);
    assert!(one.ids.is_empty());
    // Non-disruptive actions of a link run when that link matches, even if the chain fails.
    assert_eq!(tx(&one, "first"), Some("1"));
    assert_eq!(tx(&one, "second"), None);
}

#[test]
fn skip_after_marker_and_skip() {
    let rules = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,skipAfter:END"
SecAction "id:2,phase:1,pass,nolog,setvar:tx.skipped=1"
SecMarker END
SecAction "id:3,phase:1,pass,nolog,skip:1"
SecAction "id:4,phase:1,pass,nolog,setvar:tx.skipped2=1"
SecAction "id:5,phase:1,pass,nolog,setvar:tx.after=1"
"#;
    let o = run(rules, &get("/"), &["skipped", "skipped2", "after"]);
    assert_eq!(o.ids, vec![1, 3, 5]);
    assert_eq!(tx(&o, "skipped"), None);
    assert_eq!(tx(&o, "skipped2"), None);
    assert_eq!(tx(&o, "after"), Some("1"));
}

#[test]
fn setvar_arithmetic_delete_and_macros() {
    let rules = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,setvar:tx.score=5,setvar:tx.score=+3,setvar:tx.score=-1,setvar:TX.Other=%{tx.score}x,setvar:tx.gone=1,setvar:!tx.gone"
SecAction "id:2,phase:1,pass,nolog,setvar:'tx.host=%{request_headers.host}',setvar:tx.addr=%{remote_addr},setvar:tx.inc=+%{tx.score}"
"#;
    let o = run(
        rules,
        &get("/"),
        &["score", "other", "gone", "host", "addr", "inc"],
    );
    assert_eq!(tx(&o, "score"), Some("7"));
    assert_eq!(tx(&o, "OTHER"), None); // keys are looked up lowercased by the accessor
    assert_eq!(tx(&o, "other"), Some("7x"));
    assert_eq!(tx(&o, "gone"), None);
    assert_eq!(tx(&o, "host"), Some("h"));
    assert_eq!(tx(&o, "addr"), Some("127.0.0.1"));
    assert_eq!(tx(&o, "inc"), Some("7"));
}

#[test]
fn operator_arguments_expand_macros() {
    let rules = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,setvar:tx.limit=3"
SecRule ARGS:n "@ge %{tx.limit}" "id:2,phase:1,deny"
"#;
    assert!(run(rules, &get("/?n=4"), &[]).intervention.is_some());
    assert!(run(rules, &get("/?n=2"), &[]).intervention.is_none());
}

#[test]
fn ctl_rule_removal_by_id_range_and_target() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS:off "@streq 1" "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=100-199"
SecRule ARGS:tgt "@streq 1" "id:2,phase:1,pass,nolog,ctl:ruleRemoveTargetById=200;ARGS:x"
SecRule ARGS "@contains bad" "id:150,phase:1,deny"
SecRule ARGS "@contains bad" "id:200,phase:2,deny"
"#;
    assert_eq!(
        run(rules, &get("/?x=bad"), &[])
            .intervention
            .unwrap()
            .rule_id,
        Some(150)
    );
    assert_eq!(
        run(rules, &get("/?x=bad&off=1"), &[])
            .intervention
            .unwrap()
            .rule_id,
        Some(200)
    );
    assert!(
        run(rules, &get("/?x=bad&off=1&tgt=1"), &[])
            .intervention
            .is_none()
    );
    assert_eq!(
        run(rules, &get("/?y=bad&off=1&tgt=1"), &[])
            .intervention
            .unwrap()
            .rule_id,
        Some(200)
    );
}

#[test]
fn ctl_remove_by_tag_and_engine_off() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS:t "@streq 1" "id:1,phase:1,pass,nolog,ctl:ruleRemoveByTag=attack-.*"
SecRule ARGS:e "@streq 1" "id:2,phase:1,pass,nolog,ctl:ruleEngine=Off"
SecRule ARGS "@contains bad" "id:3,phase:1,deny,tag:'attack-x'"
"#;
    assert!(run(rules, &get("/?q=bad"), &[]).intervention.is_some());
    assert!(run(rules, &get("/?q=bad&t=1"), &[]).intervention.is_none());
    assert!(run(rules, &get("/?q=bad&e=1"), &[]).intervention.is_none());
}

#[test]
fn counting_exclusions_and_regex_selectors() {
    let rules = r#"
SecRuleEngine On
SecRule &ARGS "@eq 3" "id:1,phase:1,pass,log"
SecRule ARGS|!ARGS:safe "@contains x" "id:2,phase:1,pass,log"
SecRule ARGS:/^pre_/ "@contains y" "id:3,phase:1,pass,log"
SecRule &TX:missing "@eq 0" "id:4,phase:1,pass,log"
SecRule REQUEST_COOKIES|!REQUEST_COOKIES:/__utm/ "@contains z" "id:5,phase:1,pass,log"
"#;
    let req = Request::builder()
        .uri("/?safe=x&pre_a=y&other=1")
        .header("Cookie", "__utma=z; keep=1")
        .build();
    let o = run(rules, &req, &[]);
    assert_eq!(o.ids, vec![1, 3, 4]);
    let req = Request::builder()
        .uri("/?a=x&b=2&c=3")
        .header("Cookie", "k=z")
        .build();
    let o = run(rules, &req, &[]);
    assert_eq!(o.ids, vec![1, 2, 4, 5]);
}

#[test]
fn capture_and_matched_var_name() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@rx ^(\w+)-(\d+)$" "id:1,phase:1,pass,capture,log,logdata:'%{TX.1}/%{TX.2} in %{MATCHED_VAR_NAME}',setvar:tx.got=%{tx.2}"
"#;
    let o = run(rules, &get("/?item=abc-42"), &["got", "0"]);
    assert_eq!(tx(&o, "got"), Some("42"));
    assert_eq!(tx(&o, "0"), Some("abc-42"));
    assert!(
        o.lines[0].contains("[data \"abc/42 in ARGS:item\"]"),
        "{:?}",
        o.lines
    );
}

#[test]
fn multi_match_sees_every_transformation_step() {
    // The raw value contains "%41"; after urlDecode it is "A". Without multiMatch only "A" is inspected.
    let plain =
        "SecRuleEngine On\nSecRule ARGS \"@contains %41\" \"id:1,phase:1,t:urlDecode,deny\"";
    let multi = "SecRuleEngine On\nSecRule ARGS \"@contains %41\" \"id:1,phase:1,t:urlDecode,multiMatch,deny\"";
    let req = get("/?q=%2541");
    assert!(run(plain, &req, &[]).intervention.is_none());
    assert!(run(multi, &req, &[]).intervention.is_some());
}

#[test]
fn block_uses_the_phase_default_action() {
    let pass = "SecRuleEngine On\nSecDefaultAction \"phase:1,log,pass\"\nSecRule ARGS \"@contains a\" \"id:1,phase:1,block\"";
    assert!(run(pass, &get("/?q=a"), &[]).intervention.is_none());
    let deny = "SecRuleEngine On\nSecDefaultAction \"phase:1,log,deny,status:418\"\nSecRule ARGS \"@contains a\" \"id:1,phase:1,block\"";
    assert_eq!(
        run(deny, &get("/?q=a"), &[]).intervention.unwrap().status,
        418
    );
}

#[test]
fn negation_and_default_rx() {
    let rules = "SecRuleEngine On\nSecRule REQUEST_METHOD \"!@within GET HEAD\" \"id:1,phase:1,deny\"\nSecRule REQUEST_URI \"^/admin\" \"id:2,phase:1,deny\"";
    assert!(run(rules, &get("/"), &[]).intervention.is_none());
    let post = Request::builder().method("PUT").uri("/").build();
    assert_eq!(
        run(rules, &post, &[]).intervention.unwrap().rule_id,
        Some(1)
    );
    assert_eq!(
        run(rules, &get("/admin/x"), &[])
            .intervention
            .unwrap()
            .rule_id,
        Some(2)
    );
}

#[test]
fn body_processors_and_reqbody_error() {
    let rules = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "application/json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQBODY_PROCESSOR "@streq URLENCODED" "id:3,phase:1,pass,log"
SecRule REQUEST_BODY "@contains admin" "id:4,phase:2,pass,log"
SecRule ARGS_POST:user|ARGS_POST:json.user "@streq admin" "id:2,phase:2,deny,status:401"
"#;
    let form = Request::builder()
        .method("POST")
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("user=admin&x=1")
        .build();
    let o = run(rules, &form, &[]);
    assert_eq!(o.intervention.unwrap().status, 401);
    assert_eq!(o.logged, vec![3, 4, 2]);
    let json = Request::builder()
        .method("POST")
        .header("Content-Type", "application/json")
        .body(r#"{"user":"admin"}"#)
        .build();
    let o = run(rules, &json, &[]);
    assert_eq!(o.intervention.map(|i| i.status), Some(401), "{:?}", o.lines);
    let broken = Request::builder()
        .method("POST")
        .header("Content-Type", "application/json")
        .body(r#"{"user":"#)
        .build();
    let with_error =
        format!("{rules}\nSecRule REQBODY_ERROR \"!@eq 0\" \"id:5,phase:2,deny,status:400\"");
    let o = run(&with_error, &broken, &[]);
    assert_eq!(o.intervention.map(|i| i.status), Some(400), "{:?}", o.lines);
}

#[test]
fn request_body_variable_only_for_urlencoded_or_forced() {
    let rules = r#"
SecRuleEngine DetectionOnly
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "xml" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:X-Force "1" "id:2,phase:1,pass,nolog,ctl:forceRequestBodyVariable=On"
SecRule REQUEST_BODY "@contains admin" "id:4,phase:2,pass,log"
SecRule REQUEST_BODY_LENGTH "@gt 0" "id:5,phase:2,pass,log"
"#;
    let req = |ct: Option<&str>, force: bool| {
        let mut b = Request::builder().method("POST").body("<a>admin</a>");
        if let Some(ct) = ct {
            b = b.header("Content-Type", ct);
        }
        if force {
            b = b.header("X-Force", "1");
        }
        b.build()
    };
    let xml = run(rules, &req(Some("text/xml"), false), &[]);
    assert_eq!(xml.logged, vec![5], "{:?}", xml.lines);
    let forced_xml = run(rules, &req(Some("text/xml"), true), &[]);
    assert_eq!(
        forced_xml.logged,
        vec![5],
        "force has no effect with a processor"
    );
    let none = run(rules, &req(None, false), &[]);
    assert_eq!(none.logged, vec![5]);
    let forced = run(rules, &req(None, true), &[]);
    assert_eq!(forced.logged, vec![4, 5]);
    let form = run(
        rules,
        &req(Some("application/x-www-form-urlencoded"), false),
        &[],
    );
    assert_eq!(form.logged, vec![4, 5]);
}

#[test]
fn update_target_and_remove_by_id_at_load() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@contains bad" "id:1,phase:1,deny"
SecRule ARGS "@contains bad" "id:2,phase:1,deny"
SecRuleUpdateTargetById 1 "!ARGS:ok"
SecRuleRemoveById 2
"#;
    assert!(run(rules, &get("/?ok=bad"), &[]).intervention.is_none());
    assert_eq!(
        run(rules, &get("/?no=bad"), &[])
            .intervention
            .unwrap()
            .rule_id,
        Some(1)
    );
}

#[test]
fn persistent_ip_collection_survives_transactions() {
    let rules = r#"
SecRuleEngine On
SecAction "id:1,phase:1,pass,nolog,initcol:ip=%{remote_addr},setvar:ip.hits=+1"
SecRule IP:hits "@gt 2" "id:2,phase:1,deny,status:429"
"#;
    let (rs, _) = RuleSet::from_sources(&[("t".into(), rules.into())], None).unwrap();
    let req = get("/");
    let mut statuses = Vec::new();
    for _ in 0..3 {
        let mut t = Transaction::new(&rs, &req);
        statuses.push(t.process_request().map(|i| i.status));
        t.finish();
    }
    assert_eq!(statuses, vec![None, None, Some(429)]);
}

#[test]
fn allow_stops_later_rules() {
    let rules = r#"
SecRuleEngine On
SecRule REMOTE_ADDR "@ipMatch 127.0.0.1" "id:1,phase:1,allow,nolog"
SecRule ARGS "@contains bad" "id:2,phase:2,deny"
"#;
    assert!(run(rules, &get("/?q=bad"), &[]).intervention.is_none());
}

#[test]
fn load_errors_name_file_and_line() {
    let err = RuleSet::from_sources(&[("x.conf".into(), "\nSecFoo bar".into())], None).unwrap_err();
    assert_eq!(err.to_string(), "x.conf:2: unknown directive SecFoo");
    let dup = "SecAction \"id:1,pass\"\nSecAction \"id:1,pass\"";
    assert!(RuleSet::from_sources(&[("d".into(), dup.into())], None).is_err());
    let (rs, report) = RuleSet::from_sources(
        &[("u".into(), "SecRule ARGS \"@rbl x\" \"id:7,deny\"".into())],
        None,
    )
    .unwrap();
    assert_eq!(report.unsupported.len(), 1);
    assert_eq!(report.unsupported[0].rule_id, Some(7));
    assert_eq!(rs.rules().len(), 0);
}

#[test]
fn rule_macros_and_cached_transformations_agree() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@contains abc" "id:1,phase:1,pass,nolog,msg:'found it',t:lowercase,setvar:tx.m=%{rule.msg},setvar:tx.n=+1"
SecRule ARGS "@contains abc" "id:2,phase:1,pass,nolog,t:lowercase,setvar:tx.n=+1"
SecRule ARGS "@contains ABC" "id:3,phase:1,pass,nolog,setvar:tx.n=+1"
"#;
    let o = run(rules, &get("/?a=xABCx&b=abc"), &["m", "n"]);
    assert_eq!(tx(&o, "m"), Some("found it"));
    // 1 and 2 match both values (after lowercasing), 3 only the raw upper-case one.
    assert_eq!(tx(&o, "n"), Some("5"));
}

#[test]
fn rule_sets_are_shareable_and_transactions_sendable() {
    fn shared<T: Send + Sync>() {}
    fn sendable<T: Send>() {}
    shared::<RuleSet>();
    sendable::<Transaction<'static>>();
}

/// The `@rx` prefilter and the shared target lists change no result: rules sharing a chain and a target list
/// match exactly the values their regexes match (including case-insensitive literals, captures and a
/// `ctl:ruleRemoveTargetById` edit that makes one rule collect its own list).
#[test]
fn prefilter_and_shared_targets_keep_results() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@rx (?i)union\s+select" "id:1,phase:2,t:none,t:urlDecodeUni,pass,capture,setvar:tx.a=%{tx.0}"
SecRule ARGS "@rx <script" "id:2,phase:2,t:none,t:urlDecodeUni,pass"
SecRule ARGS "@rx [;|&]\s*cat\b" "id:3,phase:2,t:none,t:urlDecodeUni,pass"
SecRule ARGS "@rx (?:foo|bar)baz" "id:4,phase:2,t:none,t:urlDecodeUni,pass"
SecRule ARGS "@rx ^[a-z]+$" "id:5,phase:2,t:none,t:urlDecodeUni,pass"
SecRule ARGS_NAMES "@rx ^q$" "id:6,phase:2,t:none,pass,ctl:ruleRemoveTargetById=7;ARGS:q"
SecRule ARGS "@rx UNION" "id:7,phase:2,t:none,t:urlDecodeUni,pass"
SecRule ARGS "@rx ecT" "id:8,phase:2,t:none,t:urlDecodeUni,pass"
"#;
    let o = run(
        rules,
        &get("/?q=1%20UNION%20%20SeLeCt%202&x=barbaz"),
        &["a"],
    );
    assert_eq!(o.ids, vec![1, 4, 5, 6]);
    assert_eq!(tx(&o, "a"), Some("UNION  SeLeCt"));
    let o = run(rules, &get("/?p=%3Cscript%3E&r=a;cat%20x&s=plain"), &[]);
    assert_eq!(o.ids, vec![2, 3, 5]);
    let o = run(rules, &get("/?z=UNION"), &[]);
    assert_eq!(o.ids, vec![7]);
}

#[test]
fn shared_chain_prefixes_give_whole_chain_results() {
    // Three chains share `urlDecodeUni`; the two longer ones also share `urlDecodeUni,lowercase`. A long value
    // goes through the step cache, a short one through each whole chain: both must see the same text.
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@rx A%B" "id:1,phase:2,pass,t:none,t:urlDecodeUni"
SecRule ARGS "@rx ^a%b" "id:2,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase"
SecRule ARGS "@rx ^a%bx{200}$" "id:3,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,t:removeWhitespace"
SecRule ARGS "@rx ^a%b xx$" "id:4,phase:2,pass,t:none,t:urlDecodeUni,t:lowercase,t:compressWhitespace"
"#;
    let long = format!("/?q=A%2525B%20{}", "X".repeat(200));
    let o = run(rules, &get(&long), &[]);
    assert_eq!(o.ids, vec![1, 2, 3]);
    let o = run(rules, &get("/?q=A%2525B%20%20XX"), &[]);
    assert_eq!(o.ids, vec![1, 2, 4]);
}

/// `@pm` links in a chain's prefilter: a clear bit skips the operator, a set bit runs it (for the capture); a
/// negated `@pm` always runs.
#[test]
fn pm_links_in_the_prefilter_keep_results() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@pm Foo bar" "id:10,phase:2,t:none,t:lowercase,pass,capture,setvar:tx.p=%{tx.0}"
SecRule ARGS "@rx baz" "id:11,phase:2,t:none,t:lowercase,pass"
SecRule ARGS "@pm qux" "id:12,phase:2,t:none,t:lowercase,pass"
SecRule ARGS "!@pm nope" "id:13,phase:2,t:none,t:lowercase,pass"
"#;
    let o = run(rules, &get("/?a=xxFOOyy&b=BAZ"), &["p"]);
    assert_eq!(o.ids, vec![10, 11, 13]);
    assert_eq!(tx(&o, "p"), Some("foo"));
    let o = run(rules, &get("/?a=NoPe"), &[]);
    assert!(o.ids.is_empty(), "{:?}", o.ids);
    let o = run(rules, &get("/?a=QUX"), &[]);
    assert_eq!(o.ids, vec![12, 13]);
}

/// One prefilter scan serves every chain whose result equals the raw value up to case, and the step cache serves
/// every chain that reaches the same effective steps: results stay those of running each chain and regex. Rules
/// mix case-sensitive patterns, a `cmdLine` that only lowercases (long value) or does more (comma), single-link
/// chains whose text differs from the raw value (no scan: the operator runs), and short and long values.
#[test]
fn shared_scans_and_step_cache_keep_results() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@rx abc" "id:1,phase:2,pass,t:none,t:lowercase"
SecRule ARGS "@rx ABC" "id:2,phase:2,pass,t:none,t:lowercase"
SecRule ARGS "@rx ABC" "id:3,phase:2,pass,t:none"
SecRule ARGS "@rx abc d" "id:4,phase:2,pass,t:none,t:cmdLine"
SecRule ARGS "@rx abc d" "id:5,phase:2,pass,t:none,t:urlDecodeUni,t:cmdLine"
SecRule ARGS "@rx abcd" "id:6,phase:2,pass,t:none,t:lowercase,t:removeWhitespace"
SecRule ARGS "@rx cd" "id:7,phase:2,pass,t:none,t:lowercase,t:removeWhitespace"
SecRule ARGS "@rx evil" "id:8,phase:2,pass,t:none,t:base64Decode"
SecRule ARGS "@rx (?i)u\s*r\s*l\s*\(" "id:9,phase:2,pass,t:none,t:urlDecodeUni,t:htmlEntityDecode"
"#;
    let pad = "y".repeat(200);
    // Long, clean apart from case: every chain but removeWhitespace/base64Decode equals the raw value up to case.
    let o = run(rules, &get(&format!("/?q=xABC%20D{pad}")), &[]);
    assert_eq!(o.ids, vec![1, 3, 4, 5, 6, 7]);
    // The same value, short.
    let o = run(rules, &get("/?q=xABC%20D"), &[]);
    assert_eq!(o.ids, vec![1, 3, 4, 5, 6, 7]);
    // A comma: cmdLine turns it into a space, so its text is its own (and there is no space to remove).
    let o = run(rules, &get(&format!("/?q=ABC,D{pad}")), &[]);
    assert_eq!(o.ids, vec![1, 3, 4, 5]);
    let o = run(rules, &get("/?q=ABC,D"), &[]);
    assert_eq!(o.ids, vec![1, 3, 4, 5]);
    // base64 of "evil" (a text of its own, only one link on the chain), long and short; a letter-only literal
    // set would be useless, so 9's literal is `(`.
    let o = run(rules, &get("/?q=ZXZpbA=="), &[]);
    assert_eq!(o.ids, vec![8]);
    let o = run(rules, &get(&format!("/?q=ZXZpbA==&r=U%20R%20L({pad}")), &[]);
    assert_eq!(o.ids, vec![8, 9]);
    let o = run(rules, &get(&format!("/?q=U%20R%20L&r={pad}")), &[]);
    assert!(o.ids.is_empty(), "{:?}", o.ids);
}

/// `multiMatch` links in the prefilter: a raw value without the literals skips the raw text and every step result
/// equal to it up to case, but still tests a step that decodes something (and case-sensitive patterns still see
/// the lowercased text).
#[test]
fn multi_match_links_in_the_prefilter_keep_results() {
    let rules = r#"
SecRuleEngine On
SecRule ARGS "@rx \.\./" "id:1,phase:2,pass,t:none,t:urlDecodeUni,t:cmdLine,multiMatch"
SecRule ARGS "@rx ABC" "id:2,phase:2,pass,t:none,t:lowercase,t:urlDecodeUni,multiMatch"
SecRule ARGS "@rx abc" "id:3,phase:2,pass,t:none,t:lowercase,t:urlDecodeUni,multiMatch"
"#;
    let pad = "z".repeat(200);
    // `%2e%2e%2f` decodes to `../` (the raw value holds no literal of rule 1).
    let o = run(rules, &get("/?q=x%252e%252e%252fy"), &[]);
    assert_eq!(o.ids, vec![1]);
    let o = run(rules, &get(&format!("/?q=Tom%20ABC%20{pad}")), &[]);
    assert_eq!(o.ids, vec![2, 3]);
    // Lowercasing comes first: `%42` decodes to `B` after it, `%62` to `b`.
    let o = run(
        rules,
        &get(&format!("/?q=Tom%20%2541%2542%2543%20{pad}")),
        &[],
    );
    assert_eq!(o.ids, vec![2]);
    let o = run(rules, &get(&format!("/?q=Tom%20A%2562C%20{pad}")), &[]);
    assert_eq!(o.ids, vec![3]);
    let o = run(rules, &get(&format!("/?q=Tom%20A%2542C%20{pad}")), &[]);
    assert!(o.ids.is_empty(), "{:?}", o.ids);
    let o = run(rules, &get(&format!("/?q=Tom%20AB%20{pad}")), &[]);
    assert!(o.ids.is_empty(), "{:?}", o.ids);
}
