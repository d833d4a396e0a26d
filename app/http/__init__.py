"""HTTP plumbing: middlewares, errors, versioning and the route table. Knows no feature."""
