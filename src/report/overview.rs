//! The HTML report's overview: pictures of the tenant, drawn as inline SVG (no script or
//! network needed to read them).
//!
//! - The reach map: apps by how far their mailbox access reaches (all mailboxes, scoped,
//!   none granted, unknown) and how (app-only; delegated, consented for all users; delegated,
//!   consented by some users), coloured by whose app it is.
//! - The credential expiry timeline: live credentials by the month they expire in, over the
//!   next twelve months, expired ones at the left edge.
//!
//! Both are counts, added app by app ([`Overview::add`]) and merged ([`Overview::merge`]), so a
//! streamed scan of a large tenant keeps no app to draw them.

use chrono::{DateTime, Datelike, Months, Utc};
use maud::{Markup, html};

use crate::model::consent::{Consent, mail_consents};
use crate::model::{App, Catalog, CredentialKind, CredentialSet, OrganizationKind, Reach};

/// How an app reaches mail: the rows of the reach map.
pub const HOWS: [&str; 3] = [
    "app-only",
    "delegated, consented for all users",
    "delegated, consented by some users",
];
/// How far: the columns of the reach map.
pub const REACHES: [&str; 4] = ["all mailboxes", "scoped", "none granted", "unknown"];
/// Whose app: the colours of the reach map, with their CSS colour.
pub const OWNERS: [(&str, &str); 4] = [
    ("this tenant", "#2b6cb0"),
    ("Microsoft", "#718096"),
    ("another organization", "#dd6b20"),
    ("unknown", "#805ad5"),
];
/// Credential kinds of the timeline, with their CSS colour.
pub const KINDS: [(&str, &str); 2] = [
    ("client secret", "#c53030"),
    ("certificate or key", "#2f855a"),
];

/// Rows of the action plan the overview shows.
pub const PLAN_ROWS: usize = 5;

/// Names kept per reach map segment, for its tooltip.
const NAMES: usize = 12;

/// One coloured segment of the reach map: how many apps, and the first names.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Segment {
    pub apps: usize,
    pub names: Vec<String>,
}

/// The counts behind the overview's pictures.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub as_of: DateTime<Utc>,
    /// `[how][reach][owner]`.
    pub reach: [[[Segment; 4]; 4]; 3],
    /// Apps that reach no mailbox in any way.
    pub no_access: usize,
    /// `[kind]` of expired credentials.
    pub expired: [usize; 2],
    /// `[month][kind]`: month 0 is the month of `as_of`.
    pub months: [[usize; 2]; 12],
    /// Live credentials expiring after the twelfth month.
    pub later: [usize; 2],
    /// Credentials without an end date.
    pub no_end: usize,
    /// The action plan, whose first rows the overview shows.
    pub plan: Option<crate::plan::Plan>,
}

fn owner(kind: OrganizationKind) -> usize {
    match kind {
        OrganizationKind::ThisTenant => 0,
        OrganizationKind::Microsoft => 1,
        OrganizationKind::Other => 2,
        OrganizationKind::Unknown => 3,
    }
}

impl Overview {
    pub fn new(as_of: DateTime<Utc>) -> Self {
        Overview {
            as_of,
            reach: Default::default(),
            no_access: 0,
            expired: [0; 2],
            months: [[0; 2]; 12],
            later: [0; 2],
            no_end: 0,
            plan: None,
        }
    }

    /// Counts one app.
    pub fn add(&mut self, app: &App, catalog: &Catalog) {
        let who = owner(app.organization.kind);
        let mut place = |how: usize, reach: usize| {
            let segment = &mut self.reach[how][reach][who];
            segment.apps += 1;
            if segment.names.len() < NAMES {
                segment.names.push(app.name().to_string());
            }
        };
        let mut reaches = false;
        if !app.mailbox_access.paths.is_empty() {
            reaches = true;
            place(
                0,
                match app.mailbox_access.overall() {
                    Reach::AllMailboxes | Reach::AllExcept { .. } => 0,
                    Reach::ScopedTo { .. } => 1,
                    Reach::NotGranted => 2,
                    Reach::Unknown { .. } => 3,
                },
            );
        }
        let consents = mail_consents(app, catalog).unwrap_or_default();
        if consents
            .iter()
            .any(|c| c.consent == Some(Consent::AllUsers))
        {
            reaches = true;
            place(1, 0);
        }
        if consents
            .iter()
            .any(|c| c.consent != Some(Consent::AllUsers))
        {
            reaches = true;
            // Each consenting user's own mailbox (and what it may open): a scope of users;
            // a grant of unknown consent type is placed as unknown.
            let known = consents.iter().any(|c| c.consent == Some(Consent::OneUser));
            place(2, if known { 1 } else { 3 });
        }
        if !reaches {
            self.no_access += 1;
        }
        let registration = app.credentials().map(CredentialSet::Single);
        let enterprise = app
            .enterprise_app()
            .map(|sp| sp.credential_sets())
            .unwrap_or_default();
        for set in registration.chain(enterprise) {
            let kind = match set.credential().kind {
                CredentialKind::Secret => 0,
                _ => 1,
            };
            match set.end() {
                None => self.no_end += 1,
                Some(end) if end <= self.as_of => self.expired[kind] += 1,
                Some(end) => match self.month_of(end) {
                    Some(m) => self.months[m][kind] += 1,
                    None => self.later[kind] += 1,
                },
            }
        }
    }

    /// The timeline month (0..12) a future date falls in, counted in calendar months from
    /// the month of `as_of`.
    fn month_of(&self, end: DateTime<Utc>) -> Option<usize> {
        let months =
            (end.year() - self.as_of.year()) * 12 + end.month() as i32 - self.as_of.month() as i32;
        usize::try_from(months).ok().filter(|m| *m < 12)
    }

    /// Adds another part's counts (a batch of a streamed scan, another source).
    pub fn merge(&mut self, other: Overview) {
        for (how, row) in other.reach.into_iter().enumerate() {
            for (reach, cell) in row.into_iter().enumerate() {
                for (who, segment) in cell.into_iter().enumerate() {
                    let mine = &mut self.reach[how][reach][who];
                    mine.apps += segment.apps;
                    let room = NAMES.saturating_sub(mine.names.len());
                    mine.names.extend(segment.names.into_iter().take(room));
                }
            }
        }
        self.no_access += other.no_access;
        for k in 0..2 {
            self.expired[k] += other.expired[k];
            self.later[k] += other.later[k];
            for m in 0..12 {
                self.months[m][k] += other.months[m][k];
            }
        }
        self.no_end += other.no_end;
    }

    /// Apps placed in the reach map (an app reaching mail two ways is in two rows).
    pub fn placed(&self) -> usize {
        self.reach.iter().flatten().flatten().map(|s| s.apps).sum()
    }

    /// The reach map as SVG.
    pub fn reach_map(&self) -> Markup {
        const LEFT: u32 = 250;
        const CELL: u32 = 170;
        const ROW: u32 = 46;
        const TOP: u32 = 30;
        let width = LEFT + CELL * REACHES.len() as u32 + 10;
        let height = TOP + ROW * HOWS.len() as u32 + 40;
        let largest = self
            .reach
            .iter()
            .flatten()
            .map(|cell| cell.iter().map(|s| s.apps).sum::<usize>())
            .max()
            .unwrap_or(0)
            .max(1);
        let bar = CELL - 50;
        html! {
            svg.reach-map xmlns="http://www.w3.org/2000/svg" role="img"
                viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height)
                aria-label="Apps by how far their mailbox access reaches, how, and whose they are" {
                @for (c, label) in REACHES.iter().enumerate() {
                    text x=(LEFT + CELL * c as u32) y="18" font-weight="bold" { (label) }
                }
                @for (r, how) in HOWS.iter().enumerate() {
                    @let y = TOP + ROW * r as u32;
                    text x="0" y=(y + 22) { (how) }
                    @for (c, cell) in self.reach[r].iter().enumerate() {
                        @let x0 = LEFT + CELL * c as u32;
                        @let total: usize = cell.iter().map(|s| s.apps).sum();
                        rect x=(x0) y=(y + 6) width=(bar) height="24" fill="#edf2f7" {}
                        @for (x, len, w, segment) in segments(cell, x0, bar, largest) {
                            rect.segment x=(x) y=(y + 6) width=(len) height="24"
                                fill=(OWNERS[w].1) data-apps=(segment.apps) {
                                title { (tooltip(segment, OWNERS[w].0)) }
                            }
                        }
                        text x=(x0 + bar + 6) y=(y + 23) { (total) }
                    }
                }
                @let legend_y = TOP + ROW * HOWS.len() as u32 + 20;
                @for (w, (label, colour)) in OWNERS.iter().enumerate() {
                    rect x=(LEFT + 160 * w as u32) y=(legend_y - 11) width="12" height="12" fill=(colour) {}
                    text x=(LEFT + 160 * w as u32 + 18) y=(legend_y) { (label) }
                }
                text x="0" y=(legend_y) { (self.no_access) " app(s) reach no mailbox" }
            }
        }
    }

    /// The credential expiry timeline as SVG.
    pub fn timeline(&self) -> Markup {
        const LEFT: u32 = 30;
        const COLUMN: u32 = 58;
        const HIGH: u32 = 160;
        const TOP: u32 = 24;
        // (label, machine-readable month, counts)
        let columns: Vec<(String, String, [usize; 2])> =
            std::iter::once(("expired".to_string(), "expired".to_string(), self.expired))
                .chain((0..12).map(|m| {
                    let month = self.as_of + Months::new(m as u32);
                    (
                        month.format("%b %Y").to_string(),
                        month.format("%Y-%m").to_string(),
                        self.months[m],
                    )
                }))
                .collect();
        let largest = columns
            .iter()
            .map(|(_, _, k)| k[0] + k[1])
            .max()
            .unwrap_or(0)
            .max(1);
        let width = LEFT + COLUMN * columns.len() as u32 + 10;
        let height = TOP + HIGH + 60;
        html! {
            svg.timeline xmlns="http://www.w3.org/2000/svg" role="img"
                viewBox={ "0 0 " (width) " " (height) } width=(width) height=(height)
                aria-label="Credentials by the month they expire in, expired ones first" {
                line x1=(LEFT) y1=(TOP + HIGH) x2=(width - 10) y2=(TOP + HIGH) stroke="#4a5568" {}
                @for (i, (label, month, kinds)) in columns.iter().enumerate() {
                    @let x = LEFT + COLUMN * i as u32;
                    @let stacked = stack(kinds, TOP + HIGH, HIGH, largest);
                    @for (k, y, h) in &stacked {
                        rect.bar x=(x + 8) y=(y) width=(COLUMN - 16) height=(h)
                            fill=(KINDS[*k].1) data-count=(kinds[*k]) data-kind=(KINDS[*k].0) data-month=(month) {
                            title { (kinds[*k]) " " (KINDS[*k].0) "(s), " (label) }
                        }
                    }
                    @let base = stacked.last().map_or(TOP + HIGH, |(_, y, _)| *y);
                    @let total = kinds[0] + kinds[1];
                    @if total > 0 {
                        text x=(x + COLUMN / 2) y=(base - 4) text-anchor="middle" { (total) }
                    }
                    text x=(x + COLUMN / 2) y=(TOP + HIGH + 16) text-anchor="middle" font-size="11" { (label) }
                }
                @for (k, (label, colour)) in KINDS.iter().enumerate() {
                    rect x=(LEFT + 190 * k as u32) y=(TOP + HIGH + 34) width="12" height="12" fill=(colour) {}
                    text x=(LEFT + 190 * k as u32 + 18) y=(TOP + HIGH + 45) { (label) }
                }
                text x=(LEFT + 400) y=(TOP + HIGH + 45) {
                    (self.later[0] + self.later[1]) " expire later"
                    @if self.no_end > 0 { ", " (self.no_end) " without an end date" }
                }
            }
        }
    }
}

/// The reach map cell's segments, left to right: `(x, length, owner, segment)`; a segment
/// is at least 3 units long so that one app stays visible beside hundreds.
fn segments(
    cell: &[Segment; 4],
    x0: u32,
    bar: u32,
    largest: usize,
) -> Vec<(u32, u32, usize, &Segment)> {
    let mut x = x0;
    let mut out = Vec::new();
    for (w, segment) in cell.iter().enumerate().filter(|(_, s)| s.apps > 0) {
        let len = (segment.apps as u64 * u64::from(bar) / largest as u64).max(3) as u32;
        out.push((x, len, w, segment));
        x += len;
    }
    out
}

/// A timeline column's bars, bottom up: `(kind, top y, height)`.
fn stack(kinds: &[usize; 2], bottom: u32, high: u32, largest: usize) -> Vec<(usize, u32, u32)> {
    let mut base = bottom;
    let mut out = Vec::new();
    for (k, n) in kinds.iter().enumerate().filter(|(_, n)| **n > 0) {
        let h = (*n as u64 * u64::from(high) / largest as u64).max(2) as u32;
        base -= h;
        out.push((k, base, h));
    }
    out
}

/// "3 apps of another organization: A, B, C".
fn tooltip(segment: &Segment, owner: &str) -> String {
    let more = segment.apps.saturating_sub(segment.names.len());
    let mut text = format!(
        "{} app(s) of {owner}: {}",
        segment.apps,
        segment.names.join(", ")
    );
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}
