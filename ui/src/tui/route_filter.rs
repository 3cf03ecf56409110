//! Which routes the routes panel lists: the text filter (`/`, also while
//! it is typed), one family (`4`, `6`) and defaults only (`d`). Held as
//! one value because they are read and cleared together (Esc).

use super::route_list::RouteQuery;

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

    /// What the routes panel lists, as the route store answers it.
    pub fn query(&self) -> RouteQuery {
        RouteQuery {
            family: self.family,
            defaults: self.defaults,
            text: self.text.clone(),
        }
    }
}
