//! End-to-end tests of `extract_page` on small synthetic pages.

use super::*;
use crate::artist::Artist;
use crate::workshop::TimeDetail;
use chrono_tz::Asia::Kolkata;
use regex::Regex;
use scraper::Selector;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn directory() -> ArtistDirectory {
    let a = |id: &str, name: &str| Artist {
        artist_id: id.into(),
        artist_name: name.into(),
        instagram_link: Some(format!("https://www.instagram.com/{id}/")),
    };
    ArtistDirectory::new(vec![
        a("vipuldevrani", "Vipul Devrani"),
        a("rajesh_dance", "Rajesh Kumar"),
        a("aadil.khan", "Aadil Khan"),
    ])
}

fn source() -> Source {
    let mut s = Source::generic("dance_n_addiction", Kolkata);
    s.studio.instagram_link = Some("https://www.instagram.com/dance_n_addiction/".into());
    s
}

fn run_with(html: &str, url: &str, source: &Source) -> PageVerdict {
    let url = Url::parse(url).unwrap();
    extract_page(&ExtractInput {
        page_url: &url,
        html,
        source,
        artists: &directory(),
        today: today(),
    })
}

fn run(html: &str) -> Vec<Extracted> {
    match run_with(
        html,
        "https://www.yoactiv.com/event/Rajesh-Workshop/1071/0",
        &source(),
    ) {
        PageVerdict::Workshops(w) => w,
        PageVerdict::NotAWorkshop { reason } => panic!("not a workshop: {reason}"),
    }
}

fn td(day: i32, month: i32, year: i32, start: &str, end: &str) -> TimeDetail {
    TimeDetail {
        day,
        month,
        year,
        start_time: start.into(),
        end_time: end.into(),
    }
}

fn prov<'a>(e: &'a Extracted, field: &str) -> &'a FieldProvenance {
    e.provenance
        .iter()
        .find(|p| p.field == field)
        .unwrap_or_else(|| panic!("no provenance for {field}"))
}

const SIMPLE: &str = r#"<html><head><title>Rajesh Workshop | DNA</title></head><body>
<nav><a href="/">Home</a> Regular classes</nav>
<main>
  <h1>Bollywood Workshop with Rajesh Kumar</h1>
  <p>Song: Hauli Slowly</p>
  <p>Date: Sun, 21st June</p>
  <p>Time: 6 PM - 8 PM</p>
  <p>First 15: 850/-</p>
  <p>After that: ₹ 950</p>
  <p>OTS: 1100/-</p>
  <p>Register by 19th June. Call +91 98450 21234.</p>
</main>
<aside class="sidebar"><h3>Other events</h3><p>Hip hop with @vipuldevrani on 5 July, Rs. 700</p></aside>
<footer>© 2025 DNA · Follow @dance_n_addiction</footer>
</body></html>"#;

/// A source field rule that reads the text of what `css` selects.
fn selector_rule(css: &str) -> crate::source::CompiledFieldRule {
    crate::source::CompiledFieldRule {
        selector: Some(Selector::parse(css).unwrap().into()),
        attribute: None,
        pattern: None,
        describe: format!("selector `{css}`"),
    }
}
#[test]
fn simple_page_gives_the_documented_document() {
    let w = run(SIMPLE);
    assert_eq!(w.len(), 1);
    let d = &w[0].draft;
    assert_eq!(d.uuid, "dance_n_addiction/u-b651f2c4d51f85ad");
    assert_eq!(d.studio_id, "dance_n_addiction");
    assert_eq!(
        d.payment_link,
        "https://www.yoactiv.com/event/Rajesh-Workshop/1071/0"
    );
    assert_eq!(d.payment_link_type, "url");
    assert_eq!(d.event_type, EventType::Workshop);
    assert_eq!(
        d.time_details,
        vec![td(21, 6, 2026, "06:00 PM", "08:00 PM")]
    );
    assert_eq!(d.by, "Rajesh Kumar");
    assert_eq!(d.artist_id_list, vec!["rajesh_dance"]);
    assert_eq!(d.song.as_deref(), Some("Hauli Slowly"));
    assert_eq!(
        d.pricing_info,
        "First 15 spots: ₹850/-\nAfter 15 spots: ₹950/-\nOTS: ₹1100/-"
    );
    assert_eq!(d.choreo_insta_link, None);
    assert_eq!(
        w[0].title.as_deref(),
        Some("Bollywood Workshop with Rajesh Kumar")
    );
}

#[test]
fn sidebar_footer_and_deadline_do_not_leak() {
    let d = &run(SIMPLE)[0].draft;
    assert!(!d.artist_id_list.contains(&"vipuldevrani".to_string()));
    assert!(!d.pricing_info.contains("700"));
    assert_eq!(d.time_details.len(), 1);
}

#[test]
fn provenance_names_layer_and_rule() {
    let w = run(SIMPLE);
    let e = &w[0];
    assert_eq!(prov(e, "time_details").layer, Layer::Text);
    assert_eq!(prov(e, "pricing_info").layer, Layer::Text);
    assert_eq!(prov(e, "uuid").layer, Layer::Default);
    assert_eq!(
        prov(e, "event_type").detail,
        "keyword in the title (first heading in page)"
    );
}

#[test]
fn slug_pattern_from_source_decides_the_uuid() {
    let mut s = source();
    s.slug_pattern = Some(Regex::new(r"/event/(?P<slug>[^/]+)/").unwrap());
    let PageVerdict::Workshops(w) = run_with(
        SIMPLE,
        "https://www.yoactiv.com/event/Rajesh-Workshop/1071/0",
        &s,
    ) else {
        panic!("expected workshops");
    };
    assert_eq!(w[0].draft.uuid, "dance_n_addiction/Rajesh-Workshop");
    assert_eq!(prov(&w[0], "uuid").detail, "[slug] pattern");
}

#[test]
fn page_without_a_date_is_not_a_workshop() {
    let v = run_with(
        "<html><body><h1>About us</h1><p>We teach Bollywood. Fees Rs. 900.</p></body></html>",
        "https://x.test/about",
        &source(),
    );
    match v {
        PageVerdict::NotAWorkshop { reason } => assert!(reason.contains("no event date")),
        PageVerdict::Workshops(_) => panic!("a page without a date must not be a workshop"),
    }
}

#[test]
fn dates_in_comments_and_scripts_are_ignored() {
    let v = run_with(
        r#"<html><body><h1>Salsa</h1><!-- 21 June 6 PM --><script>var d = "2026-06-21";</script><p>Coming soon</p></body></html>"#,
        "https://x.test/salsa",
        &source(),
    );
    assert!(matches!(v, PageVerdict::NotAWorkshop { .. }));
}

#[test]
fn past_events_are_still_returned() {
    let w = run("<h1>Old Workshop</h1><p>21 June 2024, 6-8 PM</p>");
    assert_eq!(
        w[0].draft.time_details,
        vec![td(21, 6, 2024, "06:00 PM", "08:00 PM")]
    );
    assert!(w[0].draft.is_past(today()));
}

#[test]
fn json_ld_beats_the_text_and_meta() {
    let html = r#"<html><head>
      <meta property="og:title" content="OG Title">
      <script type="application/ld+json">{"@context":"https://schema.org","@type":"Event","name":"Intensive with Vipul",
        "startDate":"2026-06-27T11:00:00+05:30","endDate":"2026-06-27T14:00:00+05:30",
        "offers":[{"@type":"Offer","name":"Early bird","price":"1200"},{"@type":"Offer","name":"Regular","price":"1500"}],
        "performer":{"@type":"Person","name":"Vipul Devrani"}}</script></head>
      <body><h1>Page heading</h1><p>Sat 27 June, 10 AM - 1 PM</p><p>Fee ₹ 999</p></body></html>"#;
    let w = run(html);
    let e = &w[0];
    assert_eq!(e.title.as_deref(), Some("Intensive with Vipul"));
    assert_eq!(
        e.draft.time_details,
        vec![td(27, 6, 2026, "11:00 AM", "02:00 PM")]
    );
    assert_eq!(
        e.draft.pricing_info,
        "Regular: ₹1500/-\nEarly bird: ₹1200/-"
    );
    assert_eq!(e.draft.event_type, EventType::Intensive);
    assert_eq!(e.draft.by, "Vipul Devrani");
    assert_eq!(e.draft.artist_id_list, vec!["vipuldevrani"]);
    assert_eq!(prov(e, "time_details").layer, Layer::JsonLd);
    assert_eq!(prov(e, "pricing_info").layer, Layer::JsonLd);
}

#[test]
fn json_ld_date_without_time_takes_the_text_time() {
    let html = r#"<html><head><script type="application/ld+json">{"@type":"Event","name":"X","startDate":"2026-06-27"}</script></head>
      <body><p>Timings: 5:00P.M. - 8.00P.M.</p></body></html>"#;
    let w = run(html);
    assert_eq!(
        w[0].draft.time_details,
        vec![td(27, 6, 2026, "05:00 PM", "08:00 PM")]
    );
    assert!(prov(&w[0], "time_details")
        .detail
        .contains("times from visible text"));
}

#[test]
fn meta_event_time_fills_when_no_json_ld() {
    let html = r#"<html><head><meta property="event:start_time" content="2026-07-04T18:30:00+05:30"></head><body><h1>Hip hop</h1></body></html>"#;
    let w = run(html);
    assert_eq!(
        w[0].draft.time_details,
        vec![td(4, 7, 2026, "06:30 PM", "")]
    );
    assert_eq!(prov(&w[0], "time_details").layer, Layer::Meta);
}

#[test]
fn multi_song_page_gives_one_workshop_per_song() {
    let html = r#"<main><h1>Double Workshop by @vipuldevrani</h1>
      <p>Song 1: Hauli Slowly!</p><p>Sat 20 June, 4-6 PM</p><p>₹ 900</p>
      <p>Song 2: Ninnindale</p><p>Sun 21 June, 5-7 PM</p><p>₹ 1,000</p></main>"#;
    let w = run(html);
    assert_eq!(w.len(), 2);
    let a = &w[0].draft;
    let b = &w[1].draft;
    assert_eq!(a.uuid, "dance_n_addiction/u-b651f2c4d51f85ad--hauli-slowly");
    assert_eq!(a.song.as_deref(), Some("Hauli Slowly!"));
    assert_eq!(
        a.time_details,
        vec![td(20, 6, 2026, "04:00 PM", "06:00 PM")]
    );
    assert_eq!(a.pricing_info, "₹900");
    assert_eq!(b.uuid, "dance_n_addiction/u-b651f2c4d51f85ad--ninnindale");
    assert_eq!(
        b.time_details,
        vec![td(21, 6, 2026, "05:00 PM", "07:00 PM")]
    );
    assert_eq!(b.pricing_info, "₹1000");
    assert_eq!(a.artist_id_list, vec!["vipuldevrani"]);
    assert_eq!(b.by, "Vipul Devrani");
}

#[test]
fn multi_song_on_one_line_shares_sessions() {
    let html = r#"<h1>Workshop</h1><p>Songs: Hauli Slowly & Ninnindale</p><p>21 June, 6-8 PM</p><p>850/-</p>"#;
    let w = run(html);
    assert_eq!(w.len(), 2);
    assert_eq!(w[0].draft.time_details, w[1].draft.time_details);
    assert_eq!(w[0].draft.pricing_info, "₹850");
}

#[test]
fn no_artist_match_uses_by_phrase_then_title() {
    let w = run("<h1>Contemporary Workshop by Meera Iyer</h1><p>21 June 6 PM</p>");
    assert_eq!(w[0].draft.by, "Meera Iyer");
    assert!(w[0].draft.artist_id_list.is_empty());
    assert_eq!(w[0].unknown_artists, vec!["Meera Iyer"]);
    let w = run("<h1>Sunday Grooves</h1><p>21 June 6 PM</p>");
    assert_eq!(w[0].draft.by, "Sunday Grooves");
}

#[test]
fn several_matched_artists_in_order_of_appearance() {
    let w = run(
        r#"<h1>Aadil Khan x Vipul Devrani</h1><p>with <a href="https://instagram.com/rajesh_dance">Rajesh</a></p><p>21 June 6 PM</p>"#,
    );
    let d = &w[0].draft;
    assert_eq!(d.by, "Aadil Khan x Vipul Devrani x Rajesh Kumar");
    assert_eq!(
        d.artist_id_list,
        vec!["aadil.khan", "rajesh_dance", "vipuldevrani"]
    );
}

#[test]
fn studio_handle_is_not_an_unknown_artist() {
    let w = run("<h1>Workshop</h1><p>by @new_face and @dance_n_addiction</p><p>21 June 6 PM</p>");
    assert_eq!(w[0].unknown_artists, vec!["@new_face"]);
}

#[test]
fn event_type_from_description_and_default() {
    let w =
        run("<h1>Hip hop with Asha</h1><p>Our weekly batch for beginners</p><p>21 June 6 PM</p>");
    assert_eq!(w[0].draft.event_type, EventType::Regulars);
    let mut s = source();
    s.extract.default_event_type = EventType::Intensive;
    let PageVerdict::Workshops(w) = run_with(
        "<h1>Hip hop</h1><p>21 June 6 PM</p>",
        "https://x.test/e/1",
        &s,
    ) else {
        panic!()
    };
    assert_eq!(w[0].draft.event_type, EventType::Intensive);
    assert_eq!(prov(&w[0], "event_type").layer, Layer::Default);
}

#[test]
fn prize_money_and_phone_numbers_are_not_prices() {
    let w = run("<h1>Battle</h1><p>21 June 6 PM</p><p>Entry: Rs. 300</p><p>Cash prize ₹ 10,000 for the winner</p><p>Call 9845021234</p>");
    assert_eq!(w[0].draft.pricing_info, "Entry: ₹300/-");
}

#[test]
fn content_selector_limits_the_text() {
    let mut s = source();
    s.extract.content_selector = Some(Selector::parse("#event").unwrap().into());
    let html = r#"<div id="event"><h1>Salsa</h1><p>21 June, 7-9 PM</p><p>₹ 800</p></div><div class="promo"><p>Next: 28 June, 5 PM, ₹ 500</p></div>"#;
    let PageVerdict::Workshops(w) = run_with(html, "https://x.test/e/salsa", &s) else {
        panic!()
    };
    assert_eq!(
        w[0].draft.time_details,
        vec![td(21, 6, 2026, "07:00 PM", "09:00 PM")]
    );
    assert_eq!(w[0].draft.pricing_info, "₹800");
}

#[test]
fn source_rules_win_and_are_recorded() {
    let mut s = source();
    s.extract.dates = Some(crate::source::CompiledFieldRule {
        selector: Some(Selector::parse(".when").unwrap().into()),
        attribute: Some("data-start".into()),
        pattern: None,
        describe: "selector `.when`, attribute `data-start`".into(),
    });
    let html = r#"<h1>Salsa</h1><p class="when" data-start="2026-07-05T19:00:00+05:30">Soon</p><p>21 June, 7-9 PM</p>"#;
    let PageVerdict::Workshops(w) = run_with(html, "https://x.test/e/salsa", &s) else {
        panic!()
    };
    assert_eq!(
        w[0].draft.time_details,
        vec![td(5, 7, 2026, "07:00 PM", "")]
    );
    let p = prov(&w[0], "time_details");
    assert_eq!(p.layer, Layer::Source);
    assert!(p.detail.contains("[extract.fields.dates] selector `.when`"));
}

#[test]
fn source_times_rule_overrides_lower_layer_times() {
    let mut s = source();
    s.extract.times = Some(selector_rule(".time"));
    let html = r#"<h1>Salsa</h1><p>21 June, 7 PM onwards</p><p class="time">18:00-20:00</p>"#;
    let PageVerdict::Workshops(w) = run_with(html, "https://x.test/e/salsa", &s) else {
        panic!()
    };
    assert_eq!(
        w[0].draft.time_details,
        vec![td(21, 6, 2026, "06:00 PM", "08:00 PM")]
    );
}

#[test]
fn a_source_times_rule_with_batches_of_one_date_gives_a_session_per_batch() {
    let mut s = source();
    s.extract.dates = Some(selector_rule(".date"));
    s.extract.times = Some(selector_rule(".time"));
    let html = r#"<h1>Krump</h1><p class="date">Sun, 12 Jul 2026</p><p><span class="time">09:00 AM - 11:00 AM</span><br><span class="time">05:00 PM - 07:00 PM</span></p>"#;
    let PageVerdict::Workshops(w) = run_with(html, "https://x.test/e/krump", &s) else {
        panic!()
    };
    assert_eq!(
        w[0].draft.time_details,
        vec![
            td(12, 7, 2026, "09:00 AM", "11:00 AM"),
            td(12, 7, 2026, "05:00 PM", "07:00 PM")
        ]
    );
    // Two dates with two times stay paired, one time each.
    let html = r#"<h1>Krump</h1><p class="date">Sun, 12 Jul 2026</p><p class="date">Sun, 19 Jul 2026</p><p><span class="time">09:00 AM - 11:00 AM</span><br><span class="time">05:00 PM - 07:00 PM</span></p>"#;
    let PageVerdict::Workshops(w) = run_with(html, "https://x.test/e/krump", &s) else {
        panic!()
    };
    assert_eq!(
        w[0].draft.time_details,
        vec![
            td(12, 7, 2026, "09:00 AM", "11:00 AM"),
            td(19, 7, 2026, "05:00 PM", "07:00 PM")
        ]
    );
}

#[test]
fn dates_with_one_range_share_it_and_paired_dates_keep_theirs() {
    let w = run("<h1>W</h1><p>June 21 & 28</p><p>6-8 PM</p>");
    assert_eq!(
        w[0].draft.time_details,
        vec![
            td(21, 6, 2026, "06:00 PM", "08:00 PM"),
            td(28, 6, 2026, "06:00 PM", "08:00 PM")
        ]
    );
    let w = run("<h1>W</h1><p>21 June: 6-8 PM</p><p>28 June: 5-7 PM</p>");
    assert_eq!(
        w[0].draft.time_details,
        vec![
            td(21, 6, 2026, "06:00 PM", "08:00 PM"),
            td(28, 6, 2026, "05:00 PM", "07:00 PM")
        ]
    );
}

#[test]
fn date_without_any_time_is_tba_never_midnight() {
    // (The title names an event: a bare date under a title that names none is no
    // event at all, see `structure`.)
    let w = run("<h1>W Workshop</h1><p>21 June</p>");
    assert_eq!(w[0].draft.time_details, vec![td(21, 6, 2026, "TBA", "")]);
    assert!(prov(&w[0], "time_details")
        .detail
        .contains("start_time is \"TBA\""));
}

#[test]
fn identity_falls_back_to_a_url_hash_never_the_host_or_a_shared_segment() {
    // With a [slug] pattern the URL does not match: not the host.
    let mut s = source();
    s.slug_pattern = Some(Regex::new(r"/event/(?P<slug>[^/]+)/\d+/0$").unwrap());
    let a = Url::parse("https://www.yoactiv.com/dance_n_addiction").unwrap();
    let id = page_identity(&s, &a);
    assert!(
        id.base_uuid.starts_with("dance_n_addiction/u-"),
        "{}",
        id.base_uuid
    );
    assert!(id.detail.contains("does not match"));
    // Without a pattern, `/event/<slug>/1071/0` ends in a shared `0`.
    let g = source();
    let one = page_identity(
        &g,
        &Url::parse("https://www.yoactiv.com/event/rajesh-workshop/1071/0").unwrap(),
    );
    let two = page_identity(
        &g,
        &Url::parse("https://www.yoactiv.com/event/tanvi-collab/1084/0").unwrap(),
    );
    assert_ne!(one.base_uuid, two.base_uuid);
    assert!(one.base_uuid.starts_with("dance_n_addiction/u-"));
    // Stable: the same page (case of the host, a fragment, tracking parameters) gives
    // the same uuid; the path keeps its case.
    let same = page_identity(
        &g,
        &Url::parse("https://WWW.yoactiv.com/event/rajesh-workshop/1071/0/?utm_source=ig#book")
            .unwrap(),
    );
    assert_eq!(one.base_uuid, same.base_uuid);
    // A usable last segment is still the slug.
    let rzp = page_identity(&g, &Url::parse("https://rzp.io/rzp/mV3sZk9").unwrap());
    assert_eq!(rzp.base_uuid, "dance_n_addiction/mV3sZk9");
}

#[test]
fn check_warns_about_followed_urls_without_a_slug() {
    let mut s = source();
    s.crawl.follow = Regex::new(r"^https://www\.yoactiv\.com/").unwrap();
    s.slug_pattern = Some(Regex::new(r"/event/(?P<slug>[^/]+)/\d+/0$").unwrap());
    let urls = [
        Url::parse("https://www.yoactiv.com/event/rajesh/1071/0").unwrap(),
        Url::parse("https://www.yoactiv.com/dance_n_addiction").unwrap(),
        Url::parse("https://other.test/event/x/1/0").unwrap(),
    ];
    let w = slug_warnings(&s, &urls);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("https://www.yoactiv.com/dance_n_addiction is accepted by crawl.follow")
    );
    assert!(w[0].contains("the [slug] pattern does not match it"));
}

#[test]
fn a_selector_that_matches_nothing_is_a_warning_and_never_widens_to_the_page() {
    let mut s = source();
    s.extract.content_selector = Some(scraper::Selector::parse("#event-details").unwrap().into());
    // The only artist and date sit outside the (missing) content element.
    let html = r#"<main><h1>Workshop</h1></main><div class="upcoming"><p>Next: Vipul Devrani, 28 June, 6 PM</p></div>"#;
    match run_with(html, "https://s.test/e/one", &s) {
        PageVerdict::NotAWorkshop { reason } => {
            assert!(
                reason.contains("extract.content_selector `#event-details` matched nothing"),
                "{reason}"
            );
        }
        PageVerdict::Workshops(w) => panic!("widened to the page: {:?}", w[0].draft),
    }
    // A field selector that matches nothing is named; the generic layers fill the field.
    let mut t = source();
    t.extract.dates = Some(selector_rule(".event-date"));
    let w = match run_with("<h1>W</h1><p>21 June, 6 PM</p>", "https://s.test/e/two", &t) {
        PageVerdict::Workshops(w) => w,
        PageVerdict::NotAWorkshop { reason } => panic!("{reason}"),
    };
    assert_eq!(
        w[0].warnings,
        vec!["extract.fields.dates selector `.event-date` matched nothing on this page: the field comes from the generic layers".to_string()]
    );
}

/// Small pages written for this project (`fixtures/generic/`), each showing one way
/// real pages break extraction, read with no source rules (as a new studio would be),
/// against their hand-written golden documents.
#[test]
fn generic_fixture_pages_match_their_golden_documents() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let artists: Vec<Artist> =
        serde_json::from_str(&std::fs::read_to_string(root.join("artists.json")).unwrap()).unwrap();
    let artists = ArtistDirectory::new(artists);
    let source = Source::generic("generic", Kolkata);
    let dir = root.join("generic");
    let mut pages: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "html"))
        .collect();
    pages.sort();
    assert!(pages.len() >= 10, "fixtures/generic holds the pages");
    let mut failures = Vec::new();
    for page in &pages {
        let stem = page.file_stem().unwrap().to_string_lossy().to_string();
        let html = std::fs::read_to_string(page).unwrap();
        let url = Url::parse(&format!("https://events.example/e/{stem}")).unwrap();
        let verdict = extract_page(&ExtractInput {
            page_url: &url,
            html: &html,
            source: &source,
            artists: &artists,
            today: today(),
        });
        let drafts: Vec<WorkshopDraft> = match verdict {
            PageVerdict::Workshops(w) => w.into_iter().map(|e| e.draft).collect(),
            PageVerdict::NotAWorkshop { .. } => Vec::new(),
        };
        let actual = serde_json::to_value(&drafts).unwrap();
        let golden = dir.join("expected").join(format!("{stem}.json"));
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(&golden)
                .unwrap_or_else(|e| panic!("{}: {e}", golden.display())),
        )
        .unwrap();
        if actual != expected {
            failures.push(format!(
                "{stem}:\nexpected {}\nactual   {}",
                serde_json::to_string_pretty(&expected).unwrap(),
                serde_json::to_string_pretty(&actual).unwrap()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn song_slug_rules() {
    assert_eq!(song_slug("Hauli Slowly!"), "hauli-slowly");
    assert_eq!(song_slug("  Café -- Déjà Vu  "), "cafe-deja-vu");
}

#[test]
fn page_links_delegates() {
    let base = Url::parse("https://x.test/list").unwrap();
    let l = page_links(r#"<a href="/e/1#x">1</a>"#, &base);
    assert_eq!(l, vec![Url::parse("https://x.test/e/1").unwrap()]);
}

#[test]
fn a_page_whose_dates_are_not_stated_as_an_event_gives_nothing_and_says_why() {
    let html = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/generic/about-our-story.html"),
    )
    .unwrap();
    match run_with(
        &html,
        "https://studio.example/about",
        &Source::generic("g", Kolkata),
    ) {
        PageVerdict::NotAWorkshop { reason } => {
            assert!(reason.contains("no event-like structure"), "{reason}")
        }
        PageVerdict::Workshops(w) => panic!("invented {:?}", w[0].draft),
    }
}

/// One page of `fixtures/generic/`, read as the golden test reads it.
fn generic_page(stem: &str) -> Vec<Extracted> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let artists: Vec<Artist> =
        serde_json::from_str(&std::fs::read_to_string(root.join("artists.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(root.join("generic").join(format!("{stem}.html"))).unwrap();
    let url = Url::parse(&format!("https://events.example/e/{stem}")).unwrap();
    match extract_page(&ExtractInput {
        page_url: &url,
        html: &html,
        source: &Source::generic("generic", Kolkata),
        artists: &ArtistDirectory::new(artists),
        today: today(),
    }) {
        PageVerdict::Workshops(w) => w,
        PageVerdict::NotAWorkshop { reason } => panic!("{stem}: not a workshop: {reason}"),
    }
}

#[test]
fn a_bent_stamp_gives_its_date_and_the_visible_texts_time_and_is_held() {
    let w = generic_page("bent-stamp-visible-time");
    assert_eq!(
        w[0].draft.time_details,
        vec![td(18, 7, 2026, "06:00 PM", "08:00 PM")]
    );
    let p = prov(&w[0], "time_details");
    assert_eq!(p.layer, Layer::JsonLd);
    assert!(p.detail.contains("is not valid ISO 8601"), "{p:?}");
    let c = confidence::assess(&w[0].provenance);
    assert!(c.is_weak(), "{c:?}");
    assert!(
        c.weak[0].contains("the stamp says 12:30 PM, the visible text 06:00 PM"),
        "{c:?}"
    );
}

#[test]
fn a_valid_stamp_against_the_visible_time_keeps_its_time_but_is_weak() {
    let w = generic_page("stamp-contradicts-text");
    assert_eq!(
        w[0].draft.time_details,
        vec![td(8, 8, 2026, "11:00 AM", "01:00 PM")]
    );
    let c = confidence::assess(&w[0].provenance);
    assert!(c.is_weak(), "{c:?}");
    assert!(c
        .verdict
        .starts_with("date: JSON-LD against visible text (weak)"));
    // A stamp the text does not contradict stays strong.
    let c = confidence::assess(&generic_page("offset-wall-clock")[0].provenance);
    assert!(!c.is_weak(), "{c:?}");
}

#[test]
fn a_listing_cards_bare_name_or_alias_gets_its_artist_and_only_its_own() {
    let w = generic_page("listing-bare-names");
    let mut ids: Vec<(&str, Vec<String>)> = w
        .iter()
        .map(|e| (e.draft.by.as_str(), e.draft.artist_id_list.clone()))
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        vec![
            ("Chloé Fernandes", vec!["chloe.fernandes".to_string()]),
            // Not in the directory: matched to nobody, never invented.
            ("Freestyle Lab", vec![]),
            ("Rohit Nair", vec!["rohitnair.hiphop".to_string()]),
        ]
    );
    // A name inside the card is the card's own: strong, so its followers hear of it.
    for e in w.iter().filter(|e| !e.draft.artist_id_list.is_empty()) {
        let c = confidence::assess(&e.provenance);
        assert!(!c.is_weak(), "{c:?}");
    }
    // An alias (`artists_v2.artist_aliases`) matches on a card as a name does.
    let html = r#"<html><body><h1>Workshops</h1>
<div class="list"><div class="item"><h3>Krump Intro</h3><p>Sun 26 Jul, 4:00 PM</p><p>Instructor: RNX</p></div>
<div class="item"><h3>Locking Basics</h3><p>Sat 1 Aug, 5:00 PM</p><p>Instructor: Meghna</p></div></div></body></html>"#;
    let dir = ArtistDirectory::with_aliases(
        vec![Artist {
            artist_id: "rohitnair.hiphop".into(),
            artist_name: "Rohit Nair".into(),
            instagram_link: Some("https://www.instagram.com/rohitnair.hiphop/".into()),
        }],
        vec![("rohitnair.hiphop".into(), "RNX".into())],
    );
    let url = Url::parse("https://events.example/e/aliases").unwrap();
    let PageVerdict::Workshops(w) = extract_page(&ExtractInput {
        page_url: &url,
        html,
        source: &Source::generic("generic", Kolkata),
        artists: &dir,
        today: today(),
    }) else {
        panic!("two cards expected");
    };
    let by: Vec<(&str, &[String])> = w
        .iter()
        .map(|e| (e.draft.by.as_str(), e.draft.artist_id_list.as_slice()))
        .collect();
    assert_eq!(
        by,
        vec![
            ("Rohit Nair", &["rohitnair.hiphop".to_string()][..]),
            // A first name only matches nobody; `by` is the text the page gives.
            ("Meghna", &[][..]),
        ]
    );
}

#[test]
fn an_item_list_gives_one_draft_per_event_unless_it_lists_the_page_itself() {
    let w = generic_page("jsonld-item-list");
    assert_eq!(w.len(), 3);
    assert!(w
        .iter()
        .all(|e| !confidence::assess(&e.provenance).is_weak()));
    assert_eq!(prov(&w[0], "time_details").layer, Layer::JsonLd);
    // A detail page whose "more events" list holds the page's own event is that event.
    let html = r#"<html><head><script type="application/ld+json">
{"@type":"ItemList","itemListElement":[
 {"@type":"ListItem","item":{"@type":"Event","name":"Salsa Basics","url":"https://events.example/events/salsa-basics","startDate":"2026-07-11T18:00:00+05:30"}},
 {"@type":"ListItem","item":{"@type":"Event","name":"Kizomba Night","url":"https://events.example/events/kizomba-night","startDate":"2026-07-17T19:30:00+05:30"}}]}
</script></head><body><h1>Salsa Basics</h1></body></html>"#;
    let PageVerdict::Workshops(w) = run_with(
        html,
        "https://events.example/events/salsa-basics",
        &Source::generic("generic", Kolkata),
    ) else {
        panic!("a workshop expected");
    };
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].draft.uuid, "generic/salsa-basics");
    assert_eq!(
        w[0].draft.time_details,
        vec![td(11, 7, 2026, "06:00 PM", "")]
    );
}

#[test]
fn a_rescheduled_listing_card_keeps_its_uuid() {
    let slugs = |stem: &str| -> Vec<(String, String)> {
        generic_page(stem)
            .into_iter()
            .map(|e| {
                let suffix = e.draft.uuid.split_once("--").unwrap().1.to_string();
                let first = &e.draft.time_details[0];
                (suffix, format!("{}-{}", first.month, first.day))
            })
            .collect()
    };
    let before = slugs("rescheduled-before");
    let after = slugs("rescheduled-after");
    // The linked card moved from 11 to 18 July: same identity, new date.
    assert_eq!(
        before[2],
        ("heels-with-prerna".to_string(), "7-11".to_string())
    );
    assert_eq!(
        after[2],
        ("heels-with-prerna".to_string(), "7-18".to_string())
    );
    // A title on two dates needs its dates, and the two never share a uuid.
    assert_eq!(before[0].0, "bhangra-blast-2026-07-12");
    assert_eq!(before[1].0, "bhangra-blast-2026-07-19");
    assert_eq!(
        before.iter().map(|b| &b.0).collect::<Vec<_>>(),
        after.iter().map(|a| &a.0).collect::<Vec<_>>()
    );
}
