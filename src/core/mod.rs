//! The pure core: domain types, the policy and the planner.
//!
//! Nothing in here reads a clock, touches a file or awaits: every input is a value, so the whole
//! playbook can be tested with fixed instants and no network. Every rule of the playbook lives
//! here, once; the shell asks (see the table in docs/architecture.md).

pub mod address;
pub mod calendar;
pub mod heard;
pub mod inbound;
pub mod message_id;
pub mod model;
pub mod permanence;
pub mod plan;
pub mod policy;
pub mod reply_command;
pub mod why;

pub use address::{AddressError, EmailAddress, display_name_problem};
pub use message_id::{InvalidMessageId, MessageId, ThreadRef};
pub use model::{Channel, Interview, Interviewer, Owner, SendKey, Status, Step};
pub use plan::{Action, ActionState, History, PastSend, SendState, Undeliverable, plan};
pub use policy::{Cap, Policy, StepPolicy, Weekdays, Window};
pub use why::{Reasons, Why};
