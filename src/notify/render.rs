//! Title and body of a push, from the `[notify]` templates.

use super::config::Template;
use super::target::{SessionStart, Target};

/// The values a template's placeholders take for one user.
#[derive(Debug, Clone, Default)]
pub struct RenderContext {
    pub artist: String,
    pub by: String,
    pub song: String,
    pub studio: String,
    pub date: String,
    pub time: String,
    pub hours: String,
}

impl RenderContext {
    /// For one user of a workshop: `followed` are the artists they follow, `session`
    /// the session the push is about.
    pub fn new(
        target: &Target,
        followed: &[String],
        session: Option<SessionStart>,
        hours: i64,
    ) -> Self {
        let artist = if followed.is_empty() {
            target.by.clone()
        } else {
            target.names_of(followed)
        };
        RenderContext {
            artist: if artist.trim().is_empty() {
                "An artist you follow".into()
            } else {
                artist
            },
            by: target.by.clone(),
            song: match target.song.as_deref() {
                Some(s) if !s.eq_ignore_ascii_case("tbd") => s.to_string(),
                _ => "A new routine".into(),
            },
            studio: target.studio_name.clone(),
            date: session
                .map(|s| s.local.format("%a %-d %b").to_string())
                .unwrap_or_default(),
            time: session
                .map(|s| s.local.format("%I:%M %p").to_string())
                .unwrap_or_default(),
            hours: hours.to_string(),
        }
    }

    fn value(&self, name: &str) -> Option<&str> {
        Some(match name {
            "artist" => &self.artist,
            "by" => &self.by,
            "song" => &self.song,
            "studio" => &self.studio,
            "date" => &self.date,
            "time" => &self.time,
            "hours" => &self.hours,
            _ => return None,
        })
    }

    /// Replaces every known `{placeholder}`; anything else is kept as written.
    pub fn fill(&self, template: &str) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after.find('}') {
                Some(close) => match self.value(&after[..close]) {
                    Some(v) => {
                        out.push_str(v);
                        rest = &after[close + 1..];
                    }
                    None => {
                        out.push('{');
                        rest = after;
                    }
                },
                None => {
                    out.push_str(&rest[open..]);
                    rest = "";
                }
            }
        }
        out.push_str(rest);
        out
    }

    pub fn render(&self, template: &Template) -> (String, String) {
        (self.fill(&template.title), self.fill(&template.body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_known_placeholders_and_keeps_others() {
        let ctx = RenderContext {
            artist: "Vipul Devrani".into(),
            song: "Hauli Slowly".into(),
            studio: "DNA".into(),
            date: "Sun 21 Jun".into(),
            time: "06:00 PM".into(),
            ..RenderContext::default()
        };
        assert_eq!(
            ctx.fill("{artist}: {song} at {studio}, {date} at {time} {x} {"),
            "Vipul Devrani: Hauli Slowly at DNA, Sun 21 Jun at 06:00 PM {x} {"
        );
    }
}
