// Placeholder global setup; replaced by the PostgreSQL template-database setup.
export default async function setup(): Promise<void> {}
