//! What the app charges for every golden workshop.
//!
//! In-app booking charges the price the app's server reads from `pricing_info`
//! (`shared/app-contract.md`, "pricing_info: the app charges from it"). [`charged`] applies
//! that rule as the contract states it, written here on its own (not the crate's
//! `contract::app_price`, which is cross-checked against it), and each golden document's
//! price is the one a dancer normally pays, checked by hand against its page.

use nachna_ingest::contract::{app_price, unreadable_pricing};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The app's rule, clause by clause from the contract.
fn charged(pricing_info: &str) -> u64 {
    // "a lone price: the whole string is just a number, `950` or `₹1,500`"
    let lone = pricing_info.replace(['₹', ','], "");
    let lone = lone.trim();
    if !lone.is_empty() && lone.chars().all(|c| c.is_ascii_digit()) {
        return lone.parse().unwrap();
    }
    let mut single_class = None;
    let mut first = None;
    // "Lines are separated by `\n`."
    for line in pricing_info.split('\n') {
        // "A line without `:` is ignored."
        let parts: Vec<&str> = line.split(':').collect();
        if parts.len() < 2 {
            continue;
        }
        // "the amount is what follows the last `:`, with `₹`, `,` and `/-` removed, and
        // must be whole digits (no decimals)"
        let amount = parts[parts.len() - 1]
            .replace(['₹', ','], "")
            .replace("/-", "");
        let amount = amount.trim();
        if amount.is_empty() || !amount.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let amount: u64 = amount.parse().unwrap();
        let label = parts[..parts.len() - 1].join(":");
        // "the first line labelled "Single Class" if any, else the first line that parses"
        if single_class.is_none() && label.trim().to_lowercase() == "single class" {
            single_class = Some(amount);
        }
        if first.is_none() {
            first = Some(amount);
        }
    }
    // "If nothing parses, the app shows and charges ₹0."
    single_class.or(first).unwrap_or(0)
}

/// Hand-checked: the price a dancer normally pays, read off each saved page.
fn expected_prices() -> BTreeMap<&'static str, u64> {
    BTreeMap::from([
        // Drop-in (single class) ₹950; the month's batch ₹3,000 comes after it.
        ("dance.inn.bangalore/jul-hiphop-regulars", 950),
        ("dance.inn.bangalore/jul-kavya--kaavaalaa", 1200),
        ("dance.inn.bangalore/jul-kavya--senorita", 1200),
        // "First 15: 850/-" then OTS: the app counts paid orders for `First N spots`.
        ("dance.inn.bangalore/jun-harshk", 850),
        // Early bird ₹700 (sold out on the page), Standard ₹900.
        ("dance.inn.bangalore/jun-ishaan", 900),
        // The page says only "Rs. 950": the app read `950/-` as ₹0.
        ("dance.inn.bangalore/mV3sZk9", 950),
        ("dance_n_addiction/contemporary-with-chloe-fernandes", 1200),
        ("dance_n_addiction/dna-summer-intensive-2026", 3500),
        ("dance_n_addiction/kuthu-workshop-with-meghna", 700),
        ("dance_n_addiction/rajesh-workshop_-21st-june", 850),
        ("dance_n_addiction/tanvi-x-arjun-collab-workshop", 1300),
        // Single day ₹1,200, never the "Both days" ₹2,000 pass.
        ("manifestbytmn/apna-bana-le-aditya-rao", 1200),
        ("manifestbytmn/floor-and-flow-intensive", 4500),
        // The monthly batch; the trial class is a one-off offer.
        ("manifestbytmn/foundations-july", 4000),
        ("manifestbytmn/monday-night-grooves", 800),
        ("vins.dance.co/beginners-bollywood-open-class", 500),
        ("vins.dance.co/bollywood-workshop-with-zoya-khan", 900),
        ("vins.dance.co/heels-choreography-with-prerna-sharma", 1200),
        ("vins.dance.co/hip-hop-workshop-with-vinay-srinivas", 1000),
        ("vins.dance.co/vins-summer-bootcamp", 2500),
        // Generic pages (no studio rules). Those without a price on the page give "",
        // which the app shows as ₹0: there is nothing better to write.
        ("generic/calendar-month-heading", 2950),
        ("generic/day-counter-text", 0),
        ("generic/epoch-placeholder", 0),
        ("generic/noon-and-tba", 1500),
        ("generic/noscript-prose", 0),
        // The offer is 20 USD; the JSON-LD layer does not read `priceCurrency` yet.
        // Priced in USD only: left out, the app shows ₹0 rather than charge ₹20.
        ("generic/offset-wall-clock", 0),
        ("generic/range-two-saturdays", 0),
        ("generic/share-page-meta-only", 599),
        ("generic/time-placeholder", 900),
        ("generic/utc-instant-event-zone", 0),
        ("generic/two-choreos-presenter--kesariya", 900),
        ("generic/two-choreos-presenter--pal-pal-dil-ke-paas", 1000),
        ("generic/presenter-only", 700),
        ("generic/glued-weekday-time", 500),
        ("generic/weekday-pins-year", 400),
        ("generic/month-year-notice", 500),
        ("generic/app-data-only", 0),
        // Drop-in ₹900 (JSON-LD offer), the only price.
        ("generic/bent-stamp-visible-time", 900),
        ("generic/stamp-contradicts-text", 800),
        ("generic/listing-bare-names--hip-hop-foundations", 600),
        ("generic/listing-bare-names--contemporary-flow", 650),
        ("generic/listing-bare-names--freestyle-lab", 500),
        ("generic/title-song", 900),
        // The single class, never the four-class batch.
        ("generic/day-month-numerals", 700),
        ("generic/month-then-ordinals", 1000),
        ("generic/one-date-two-batches", 750),
        ("generic/songs-label-prose", 1200),
        ("generic/rescheduled-before--bhangra-blast-2026-07-12", 600),
        ("generic/rescheduled-before--bhangra-blast-2026-07-19", 600),
        ("generic/rescheduled-before--heels-with-prerna", 800),
        ("generic/rescheduled-after--bhangra-blast-2026-07-12", 600),
        ("generic/rescheduled-after--bhangra-blast-2026-07-19", 600),
        ("generic/rescheduled-after--heels-with-prerna", 800),
        ("generic/jsonld-item-list--bollywood-grooves", 900),
        ("generic/jsonld-item-list--kizomba-night", 500),
        ("generic/jsonld-item-list--salsa-basics", 700),
        ("generic/title-not-a-song--hip-hop-workshop-beginners", 500),
        ("generic/title-not-a-song--heels-class-prerna-sharma", 700),
        (
            "generic/title-not-a-song--contemporary-workshop-koramangala",
            600,
        ),
        ("generic/title-not-a-song--popping-workshop-song-tba", 600),
        ("generic/title-not-a-song--locking-session-arjun", 550),
        ("generic/events-list-app-times--kuthu", 0),
        ("generic/events-list-app-times--locking", 0),
        // A listing page: the featured workshop's usual (walk-in) price, then each card's.
        ("generic/studio-home-series", 899),
        ("generic/studio-home-series--hip-hop-foundations", 600),
        ("generic/studio-home-series--contemporary-flow", 650),
        ("generic/studio-home-series--popping-basics", 600),
        ("generic/studio-home-series--bollywood-grooves", 600),
        ("generic/link-in-bio--kesariya", 800),
        ("generic/link-in-bio--popping", 1200),
    ])
}

fn golden_documents() -> Vec<(String, Value)> {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out = Vec::new();
    for studio in std::fs::read_dir(&fixtures).unwrap() {
        let expected = studio.unwrap().path().join("expected");
        let Ok(files) = std::fs::read_dir(&expected) else {
            continue;
        };
        for file in files {
            let path = file.unwrap().path();
            let docs: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for d in docs {
                out.push((path.display().to_string(), d));
            }
        }
    }
    out
}

#[test]
fn the_app_charges_the_usual_price_for_every_golden_workshop() {
    let expected = expected_prices();
    let mut seen = Vec::new();
    let mut wrong = Vec::new();
    for (file, d) in golden_documents() {
        let uuid = d["uuid"].as_str().unwrap().to_string();
        let pricing = d["pricing_info"].as_str().unwrap();
        let Some(&want) = expected.get(uuid.as_str()) else {
            wrong.push(format!("{file}: {uuid} has no hand-checked price here"));
            continue;
        };
        let got = charged(pricing);
        if got != want {
            wrong.push(format!(
                "{file}: {uuid}: the app charges ₹{got} for {pricing:?}, expected ₹{want}"
            ));
        }
        if app_price(pricing) != got {
            wrong.push(format!(
                "{uuid}: contract::app_price disagrees with the contract's rule"
            ));
        }
        if let Some(problem) = unreadable_pricing(pricing) {
            wrong.push(format!("{uuid}: {problem}"));
        }
        seen.push(uuid);
    }
    seen.sort();
    let listed: Vec<String> = expected.keys().map(|k| k.to_string()).collect();
    assert_eq!(seen, listed, "every golden workshop has a price here, once");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_rule_as_written_reads_the_contract_examples() {
    assert_eq!(charged("950"), 950);
    assert_eq!(charged("₹1,500"), 1500);
    assert_eq!(charged("950/-"), 0);
    assert_eq!(
        charged("First 15 spots: ₹850/-\nAfter 15 spots: ₹950/-"),
        850
    );
    assert_eq!(
        charged("Two Classes: 2000/-\nSingle Class: 1100/-\nOTS: 1100/-"),
        1100
    );
    assert_eq!(
        charged("Single Class:\nFirst 15: 850/-\nAfter that: 950/-"),
        850
    );
    assert_eq!(charged("Fee: 999.50/-"), 0);
}
