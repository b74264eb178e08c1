//! A person's edit wins: which workshop fields a re-ingest may overwrite.
//!
//! The app's admins change a workshop in place (see `shared/app-contract.md`): they assign
//! artists (`artist_id_list` with `by`), a song, and a choreography reel
//! (`choreo_insta_link`). The pipeline remembers what it last wrote to those fields in the
//! document's `pipeline_written` sub-document. When a stored value differs from that
//! record, a person changed it: the page's value does not replace it, while every other
//! change of the page still lands. This module is the pure rule; the plan
//! (`reconcile`) calls it and the store only persists the outcome.
//!
//! Artists and `by` are one group (the admin endpoint sets both at once), so a person's
//! artist assignment keeps both.

use serde::Serialize;

/// The values of the person-editable fields, as stored or as a page gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Editable {
    pub artist_id_list: Vec<String>,
    pub by: String,
    pub song: Option<String>,
    pub choreo_insta_link: Option<String>,
}

/// What `pipeline_written` records. A field recorded as `null` (here `None`) means the
/// pipeline wrote no value there: `adopt` records that for values found in the
/// database, which therefore count as a person's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Written {
    pub artist_id_list: Option<Vec<String>>,
    pub by: Option<String>,
    pub song: Option<String>,
    pub choreo_insta_link: Option<String>,
}

impl Written {
    /// The record of writing these values.
    pub fn of(values: &Editable) -> Written {
        Written {
            artist_id_list: Some(values.artist_id_list.clone()),
            by: Some(values.by.clone()),
            song: values.song.clone(),
            choreo_insta_link: values.choreo_insta_link.clone(),
        }
    }

    /// The record `adopt` gives a document it did not write: a non-empty value is a
    /// person's (recorded as not written by us), an empty one is free for the page.
    pub fn adopted(current: &Editable) -> Written {
        Written {
            artist_id_list: current
                .artist_id_list
                .is_empty()
                .then(|| current.artist_id_list.clone()),
            by: current
                .artist_id_list
                .is_empty()
                .then(|| current.by.clone()),
            song: None,
            choreo_insta_link: None,
        }
    }
}

/// A person-editable field group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EditField {
    /// `artist_id_list` together with `by`.
    Artists,
    Song,
    ChoreoInstaLink,
}

impl EditField {
    pub fn as_str(self) -> &'static str {
        match self {
            EditField::Artists => "artist_id_list/by",
            EditField::Song => "song",
            EditField::ChoreoInstaLink => "choreo_insta_link",
        }
    }
}

/// A person's value kept against the page's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeptEdit {
    pub uuid: String,
    pub field: EditField,
    /// The person's value (as shown to operators).
    pub kept: String,
    /// What the page says.
    pub page: String,
}

impl std::fmt::Display for KeptEdit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: `{}` kept as {}, changed by a person (the page says {})",
            self.uuid,
            self.field.as_str(),
            self.kept,
            self.page
        )
    }
}

/// Which stored fields an update leaves alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// `artist_id_list` and `by` stay as stored.
    pub artists: bool,
    pub song: bool,
    /// `choreo_insta_link` stays as stored (a person's reel, or a link the page no
    /// longer gives: a known reel is never erased).
    pub choreo: bool,
}

impl Keep {
    /// Every field the page may not write.
    pub fn fields(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.artists {
            out.extend(["artist_id_list", "by"]);
        }
        if self.song {
            out.push("song");
        }
        if self.choreo {
            out.push("choreo_insta_link");
        }
        out
    }
}

fn blank(s: Option<&str>) -> bool {
    s.is_none_or(|s| s.trim().is_empty())
}

fn show_list(ids: &[String], by: &str) -> String {
    format!("[{}] by {by:?}", ids.join(", "))
}

fn show_opt(s: Option<&str>) -> String {
    s.map_or_else(|| "none".to_string(), |s| format!("{s:?}"))
}

/// The rule, for a stored document (`current`, its `written` record if any) and the
/// page's values. A field with no record (a document this tool wrote before it kept
/// records) counts as the pipeline's, except a stored reel, which is never replaced
/// without a record saying the pipeline wrote it.
pub fn decide(
    uuid: &str,
    current: &Editable,
    written: Option<&Written>,
    page: &Editable,
) -> (Keep, Vec<KeptEdit>) {
    let mut keep = Keep::default();
    let mut kept = Vec::new();

    let artists_empty = current.artist_id_list.is_empty() && current.by.trim().is_empty();
    let artists_ours = written.is_none_or(|w| {
        w.artist_id_list.as_ref() == Some(&current.artist_id_list)
            && w.by.as_ref() == Some(&current.by)
    });
    if !artists_empty && !artists_ours {
        keep.artists = true;
        if current.artist_id_list != page.artist_id_list || current.by != page.by {
            kept.push(KeptEdit {
                uuid: uuid.to_string(),
                field: EditField::Artists,
                kept: show_list(&current.artist_id_list, &current.by),
                page: show_list(&page.artist_id_list, &page.by),
            });
        }
    }

    let song_ours = written.is_none_or(|w| w.song == current.song);
    if !blank(current.song.as_deref()) && !song_ours {
        keep.song = true;
        if current.song != page.song {
            kept.push(KeptEdit {
                uuid: uuid.to_string(),
                field: EditField::Song,
                kept: show_opt(current.song.as_deref()),
                page: show_opt(page.song.as_deref()),
            });
        }
    }

    if !blank(current.choreo_insta_link.as_deref()) {
        let ours = written.is_some_and(|w| w.choreo_insta_link == current.choreo_insta_link);
        if !ours || blank(page.choreo_insta_link.as_deref()) {
            keep.choreo = true;
        }
        if !ours
            && !blank(page.choreo_insta_link.as_deref())
            && page.choreo_insta_link != current.choreo_insta_link
        {
            kept.push(KeptEdit {
                uuid: uuid.to_string(),
                field: EditField::ChoreoInstaLink,
                kept: show_opt(current.choreo_insta_link.as_deref()),
                page: show_opt(page.choreo_insta_link.as_deref()),
            });
        }
    }
    (keep, kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Editable {
        Editable {
            artist_id_list: vec!["page_artist".into()],
            by: "Page Artist".into(),
            song: Some("Page Song".into()),
            choreo_insta_link: None,
        }
    }

    #[test]
    fn values_the_pipeline_wrote_follow_the_page() {
        let before = Editable {
            artist_id_list: vec!["old".into()],
            by: "Old".into(),
            song: Some("Old Song".into()),
            choreo_insta_link: None,
        };
        let (keep, kept) = decide("s/a", &before, Some(&Written::of(&before)), &page());
        assert_eq!(keep, Keep::default());
        assert!(kept.is_empty());
    }

    #[test]
    fn a_persons_artists_and_song_are_kept_and_reported() {
        let ours = page();
        let mut now = ours.clone();
        now.artist_id_list = vec!["admin_pick".into()];
        now.by = "Admin Pick".into();
        now.song = Some("admin song".into());
        let (keep, kept) = decide("s/a", &now, Some(&Written::of(&ours)), &page());
        assert!(keep.artists && keep.song && !keep.choreo);
        assert_eq!(keep.fields(), vec!["artist_id_list", "by", "song"]);
        let fields: Vec<EditField> = kept.iter().map(|k| k.field).collect();
        assert_eq!(fields, vec![EditField::Artists, EditField::Song]);
        assert!(kept[0].to_string().contains("admin_pick"), "{}", kept[0]);
    }

    #[test]
    fn a_persons_reel_is_kept_against_the_pages() {
        let ours = page();
        let mut now = ours.clone();
        now.choreo_insta_link = Some("https://www.instagram.com/reel/admin".into());
        let mut p = page();
        p.choreo_insta_link = Some("https://www.instagram.com/reel/page".into());
        let (keep, kept) = decide("s/a", &now, Some(&Written::of(&ours)), &p);
        assert!(keep.choreo && !keep.artists && !keep.song);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].field, EditField::ChoreoInstaLink);
    }

    #[test]
    fn a_reel_the_pipeline_wrote_is_replaced_by_the_pages_but_never_erased() {
        let mut ours = page();
        ours.choreo_insta_link = Some("https://www.instagram.com/reel/old".into());
        let mut p = page();
        p.choreo_insta_link = Some("https://www.instagram.com/reel/new".into());
        let (keep, _) = decide("s/a", &ours, Some(&Written::of(&ours)), &p);
        assert!(!keep.choreo);
        let (keep, kept) = decide("s/a", &ours, Some(&Written::of(&ours)), &page());
        assert!(
            keep.choreo,
            "a page without a reel does not erase a known one"
        );
        assert!(kept.is_empty());
    }

    #[test]
    fn adopted_values_count_as_a_persons_and_empty_ones_are_filled() {
        let legacy = Editable {
            artist_id_list: vec!["admin_pick".into()],
            by: "Admin Pick".into(),
            song: None,
            choreo_insta_link: Some("https://www.instagram.com/reel/x".into()),
        };
        let w = Written::adopted(&legacy);
        let (keep, _) = decide("s/a", &legacy, Some(&w), &page());
        assert!(keep.artists && keep.choreo);
        assert!(!keep.song, "an empty song is filled from the page");

        let unmatched = Editable {
            artist_id_list: vec![],
            by: "Somebody".into(),
            ..legacy
        };
        let (keep, _) = decide(
            "s/a",
            &unmatched,
            Some(&Written::adopted(&unmatched)),
            &page(),
        );
        assert!(
            !keep.artists,
            "a by text without artists is the old pipeline's reading of the page"
        );
    }

    #[test]
    fn no_record_means_the_pipelines_except_a_reel() {
        let mut before = page();
        before.song = Some("Old".into());
        before.choreo_insta_link = Some("https://www.instagram.com/reel/x".into());
        let mut p = page();
        p.choreo_insta_link = Some("https://www.instagram.com/reel/y".into());
        let (keep, _) = decide("s/a", &before, None, &p);
        assert!(!keep.song && !keep.artists && keep.choreo);
    }
}
