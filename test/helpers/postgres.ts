// The directory tests' PostgreSQL is the bench's (bench/postgres.ts): initdb and pg_ctl in a temp folder.
export { TestPostgres } from '../../bench/postgres.js';
