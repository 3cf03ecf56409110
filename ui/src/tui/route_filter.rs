//! Which routes the routes panel lists: the text filter (`/`, also while
//! it is typed), one family (`4`, `6`) and defaults only (`d`). Held as
//! one value because they are read and cleared together (Esc).

use super::display::RouteRow;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteFilter {
    /// Only routes with this text (`/` with the routes focused).
    pub text: Option<String>,
    /// The text being typed (it filters as it is typed).
    pub typing: Option<String>,
    /// Only default routes (`d`).
    pub defaults: bool,
    /// Only this family ("4" or "6"), else both.
    pub family: Option<&'static str>,
}

impl RouteFilter {
    /// Whether any of the filters narrows the list.
    pub fn narrows(&self) -> bool {
        self.text.is_some() || self.family.is_some() || self.defaults
    }

    /// Whether the routes panel shows this route.
    pub fn matches(&self, r: &RouteRow) -> bool {
        self.family.is_none_or(|f| r.family == f)
            && (!self.defaults || r.default)
            && self.text.as_deref().is_none_or(|t| r.line.contains(t))
    }
}
