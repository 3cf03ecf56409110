//! inject's errand engine: config (schema, load, validate), plan (dry-run),
//! runner and run log. Knows nothing of terminals or netlink.
