"""GraphQL at /graphql: schema.graphql bound to resolvers, the planned path, protection."""
