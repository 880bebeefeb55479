//! The client against the local org, in-process on port 0: one binary, one module per area.

<<<<<<< HEAD
mod composite;
=======
mod auth;
>>>>>>> c-auth
mod query;
mod reliability;
mod sobjects;
mod support;
