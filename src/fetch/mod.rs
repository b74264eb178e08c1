//! Polite HTTP fetching (filled in by the fetch work).
