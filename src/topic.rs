//! Topic names and filters: validation and wildcard matching (being written).
