//! The variables a contact's message template sees, as munin-limits'
//! tree of settings holds them.
//!
//! munin-limits looks a `${var:NAME}` up at the node the template is
//! expanded at (a service, or a field inside a `${loop...}`) and then at
//! each node above it: the service's parent service (multigraph), the
//! host, its groups, the global part. The first node that has NAME
//! answers. A node's children (a service's fields) are what `${loop}`
//! walks; they are not variables of their parent.

/// One node: its variables, its place and its children by name.
#[derive(Debug, Clone, Default)]
pub struct Node {
    name: String,
    vars: Vec<(String, String)>,
    parent: Option<usize>,
    children: Vec<(String, usize)>,
}

/// A tree of nodes; index 0, made by [`Tree::new`], is the root.
#[derive(Debug, Clone)]
pub struct Tree {
    nodes: Vec<Node>,
}

/// The root's index.
pub const ROOT: usize = 0;

impl Default for Tree {
    fn default() -> Tree {
        Tree::new()
    }
}

impl Tree {
    pub fn new() -> Tree {
        Tree {
            nodes: vec![Node::default()],
        }
    }

    /// A new node `name` under `parent`; its index.
    pub fn add(&mut self, parent: usize, name: &str) -> usize {
        let i = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            parent: Some(parent),
            ..Node::default()
        });
        self.nodes[parent].children.push((name.to_string(), i));
        i
    }

    /// Sets `key` at `node`; a later value of the same key wins.
    pub fn set(&mut self, node: usize, key: &str, value: impl Into<String>) {
        self.nodes[node].vars.push((key.to_string(), value.into()));
    }

    /// Sets every pair of `vars` at `node`, in order.
    pub fn set_all(&mut self, node: usize, vars: &[(String, String)]) {
        self.nodes[node].vars.extend_from_slice(vars);
    }

    /// `key` at `node` itself only.
    pub fn own(&self, node: usize, key: &str) -> Option<&str> {
        crate::master::conf::last(&self.nodes[node].vars, key)
    }

    /// `key` at `node` or the nearest node above that has it.
    pub fn get(&self, node: usize, key: &str) -> Option<&str> {
        let mut at = Some(node);
        while let Some(i) = at {
            if let Some(v) = self.own(i, key) {
                return Some(v);
            }
            at = self.nodes[i].parent;
        }
        None
    }

    /// `node`'s child called `name`.
    pub fn child(&self, node: usize, name: &str) -> Option<usize> {
        self.nodes[node]
            .children
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, i)| *i)
    }

    /// The name `node` was added under (the root's is empty).
    pub fn name(&self, node: usize) -> &str {
        &self.nodes[node].name
    }

    pub fn parent(&self, node: usize) -> Option<usize> {
        self.nodes[node].parent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_climb_and_children_are_not_variables() {
        let mut t = Tree::new();
        t.set(ROOT, "contacts", "ops");
        let host = t.add(ROOT, "web");
        t.set(host, "address", "10.0.0.1");
        let svc = t.add(host, "load");
        let field = t.add(svc, "load");
        t.set(field, "label", "load");
        t.set(svc, "host", "web");
        t.set(svc, "host", "web-alias");
        assert_eq!(t.get(field, "address"), Some("10.0.0.1"));
        assert_eq!(t.get(field, "host"), Some("web-alias"));
        assert_eq!(t.get(svc, "label"), None);
        assert_eq!(t.get(svc, "load"), None);
        assert_eq!(t.get(field, "contacts"), Some("ops"));
        assert_eq!(t.child(svc, "load"), Some(field));
        assert_eq!(t.own(field, "address"), None);
        assert_eq!((t.name(svc), t.parent(svc)), ("load", Some(host)));
    }
}
