//! Who is online, for the side panel and for completing `/msg NAME`: the list the server sent
//! last (`[USERS]`, at the welcome and for `/users`), kept up to date by `[JOIN]` and `[LEAVE]`.
//! Names are compared without case, as the server compares them. At most [`MAX_NAMES`]
//! are kept, however many a server announces. Pure.

/// The most names kept: the most connections a server may take (its `--max-clients` range).
pub(super) const MAX_NAMES: usize = 100_000;

/// The names online, in the order they joined (the server's order).
#[derive(Debug, Default)]
pub(super) struct Roster {
    names: Vec<String>,
}

impl Roster {
    /// The names online.
    pub(super) fn names(&self) -> &[String] {
        &self.names
    }

    /// `[USERS]`: the whole list, as the server has it now.
    pub(super) fn set(&mut self, names: &[String]) {
        self.names = names.iter().take(MAX_NAMES).cloned().collect();
    }

    /// `[JOIN]`: one more, at the end (unless already there: a list asked for with `/users`
    /// may have crossed the join on the way).
    pub(super) fn join(&mut self, name: &str) {
        if self.names.len() < MAX_NAMES && self.position(name).is_none() {
            self.names.push(name.to_owned());
        }
    }

    /// `[LEAVE]`: one fewer.
    pub(super) fn leave(&mut self, name: &str) {
        if let Some(at) = self.position(name) {
            self.names.remove(at);
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.names
            .iter()
            .position(|online| online.eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(names: &[&str]) -> Roster {
        let mut roster = Roster::default();
        roster.set(&names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>());
        roster
    }

    #[test]
    fn users_replaces_the_list() {
        let mut list = roster(&["alice", "bob"]);
        list.set(&["carol".to_owned()]);
        assert_eq!(list.names(), ["carol"]);
    }

    #[test]
    fn a_join_adds_a_name_at_the_end_once() {
        let mut list = roster(&["alice"]);
        list.join("bob");
        list.join("BOB");
        assert_eq!(list.names(), ["alice", "bob"]);
    }

    #[test]
    fn no_more_names_are_kept_than_a_server_can_have() {
        let mut list = Roster {
            names: (0..MAX_NAMES).map(|n| n.to_string()).collect(),
        };
        list.join("one-too-many");
        assert_eq!(list.names().len(), MAX_NAMES);
        assert!(!list.names().contains(&"one-too-many".to_owned()));
    }

    #[test]
    fn a_leave_removes_the_name_whatever_its_case() {
        let mut list = roster(&["alice", "bob", "carol"]);
        list.leave("BOB");
        list.leave("nobody");
        assert_eq!(list.names(), ["alice", "carol"]);
    }
}
