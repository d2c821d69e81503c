//! The planner: the whole playbook as one pure function.
//!
//! `plan` takes the records, what the state says already happened, the policy and the current
//! instant, and returns every action with its due instant, its state and a reason a person can
//! read. It places actions in time order, as a small discrete-event simulation, so that the weekly
//! cap sees every earlier touch (from any interview) when it decides about a later one.
//!
//! The cap is the only thing that ties one interview to another, so [`Planning`] cuts the
//! interviews into groups that share an interviewer and plans each alone, with the same result;
//! `plan --json` prints a group as soon as it is planned.

use std::borrow::Cow;
use std::cmp::Reverse;
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::address::EmailAddress;
use super::calendar::{Placed, add_delay, is_whole_days, local, next_in_window, resolve_lenient};
use super::heard::{self, Heard, HeardByInterview};
use super::model::{Channel, Interview, Interviewer, Owner, SendKey, Status, Step};
use super::policy::{Policy, Window};
use super::why::{Delay, Moment, Reasons, Why};

/// Where a send stands in the durable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum SendState {
    /// Known but not yet acted on; the planner treats it as not there.
    Planned,
    /// Waiting in the approval queue.
    Queued,
    /// Approved by the user, about to be sent.
    Approved,
    /// Claimed; the SMTP transaction may be under way.
    Sending,
    Sent,
    /// A permanent error: given up, reported.
    Failed,
    /// A transient error: retried at `next_attempt`.
    Deferred,
    /// The process stopped after the message may have been handed over: never resent
    /// automatically.
    Uncertain,
    /// Decided against (past its limit, no address): never sent.
    Skipped,
    /// Made moot by an outcome or a removed record.
    Cancelled,
    /// Refused by the user in the approval queue.
    Rejected,
}

impl SendState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Still on its way to the recipient: it holds a touch for the cap.
    fn in_progress(self) -> bool {
        matches!(
            self,
            SendState::Queued | SendState::Approved | SendState::Sending | SendState::Deferred
        )
    }

    /// Waiting for the user or for a retry: an outcome heard meanwhile withdraws it
    /// ([`History::cancels_waiting`]). Approved and sending are past that point.
    pub fn is_withdrawable(self) -> bool {
        matches!(self, SendState::Queued | SendState::Deferred)
    }

    /// Reached (or may have reached) the recipient.
    fn delivered(self) -> bool {
        matches!(self, SendState::Sent | SendState::Uncertain)
    }
}

/// What the state remembers of one send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastSend {
    pub state: SendState,
    /// When the send was first reserved: queued for approval or claimed for sending.
    pub reserved_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    /// For `deferred`: when the next attempt is due.
    pub next_attempt: Option<DateTime<Utc>>,
    /// The last error or the user's note, shown in reasons.
    pub note: Option<String>,
}

impl PastSend {
    pub fn new(state: SendState, at: DateTime<Utc>) -> Self {
        Self {
            state,
            reserved_at: at,
            sent_at: (state == SendState::Sent).then_some(at),
            next_attempt: None,
            note: None,
        }
    }
}

/// What already happened, as the planner needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    pub sends: BTreeMap<SendKey, PastSend>,
    /// When the state first saw an interview in its current status: the date of an outcome
    /// the user recorded without `status_on`.
    pub status_seen: BTreeMap<String, (Status, DateTime<Utc>)>,
    /// Addresses mail cannot reach (a permanent failure that named the recipient), by
    /// lower-cased address.
    pub undeliverable: BTreeMap<String, Undeliverable>,
    /// What the mailbox said about each interview (see [`super::heard`]).
    pub heard: HeardByInterview,
}

/// Why mail to an address cannot be delivered, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undeliverable {
    pub at: DateTime<Utc>,
    /// What the server said, such as `550 5.1.1 No such user`.
    pub reason: String,
}

impl History {
    /// Why a send already waiting for approval or retrying should no longer go: its interview's
    /// outcome (as recorded, or as heard in the mailbox), an address that bounced, or the
    /// user's own message to the person since it was queued (it stands for this one).
    pub fn cancels_waiting(
        &self,
        iv: &Interview,
        key: &SendKey,
        reserved_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Option<Why> {
        let seen = heard::effective(iv, &self.heard);
        if let Some(why) = seen.status.cancels(key.step) {
            return Some(match heard::deciding_reply(iv, &self.heard) {
                Some(reply) => heard::explained(reply, why),
                None => why,
            });
        }
        if let Some(why) = self.bounce_cancels(key, iv.timezone, now) {
            return Some(why);
        }
        let own = (key.step.channel() == Channel::Email)
            .then(|| heard::own_follow_up_since(&self.heard, &iv.id, &key.recipient, reserved_at))
            .flatten()?;
        Some(Why::OwnMessageWhileWaiting {
            at: Moment::new(own.at, iv.timezone, now),
        })
    }

    /// Whether the address the send `key` is about is undeliverable: what the state recorded.
    pub fn bounce_of(&self, key: &SendKey) -> Option<&Undeliverable> {
        self.undeliverable.get(&key.recipient)
    }

    /// Why the send `key` is cancelled because its address bounced, or `None` when it still
    /// goes: an address that is undeliverable gets no more e-mail (a call or a notice still
    /// goes; a different address is a different recipient, so fixing the record resumes).
    pub fn bounce_cancels(&self, key: &SendKey, tz: Tz, now: DateTime<Utc>) -> Option<Why> {
        if key.step.channel() != Channel::Email {
            return None;
        }
        let bounce = self.bounce_of(key)?;
        Some(Why::Undeliverable {
            address: key.recipient.clone(),
            server_said: bounce.reason.clone(),
            at: Moment::new(bounce.at, tz, now),
        })
    }
}

/// What the plan says of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, strum::IntoStaticStr)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ActionState {
    Scheduled,
    /// Moved later by the weekly cap, or waiting to retry after a transient error.
    Deferred,
    /// In the approval queue (or approved and about to go).
    Queued,
    Sent,
    Skipped,
    Cancelled,
    Failed,
    Uncertain,
    /// Refused by the user in the approval queue.
    Rejected,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// Something the daemon should act on once it is due.
    pub fn is_pending(self) -> bool {
        matches!(self, ActionState::Scheduled | ActionState::Deferred)
    }
}

/// One thing the playbook does: a message, a call task or a notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    pub key: SendKey,
    pub channel: Channel,
    /// The name of the person touched (the user themself for a notice).
    pub recipient_name: String,
    /// Where the message goes: the interviewer, or the user for calls and notices. `None` for an
    /// interviewer with no address (the action is then skipped).
    pub to: Option<EmailAddress>,
    /// The recipient's zone, in which windows are reckoned.
    pub timezone: Tz,
    pub due: DateTime<Utc>,
    pub state: ActionState,
    /// Why it stands there: `reason.cause()` decided, the text is every reason in order.
    pub reason: Reasons,
}

/// Every action across all interviews, soonest first.
pub fn plan(
    records: &[Interview],
    history: &History,
    policy: &Policy,
    owner: &Owner,
    now: DateTime<Utc>,
) -> Vec<Action> {
    let planning = Planning::new(records, history, policy, owner, now);
    let mut out: Vec<Action> = (0..planning.groups())
        .flat_map(|g| planning.group(g))
        .collect();
    sort_by_due(&mut out);
    out
}

/// Soonest first; keys are unique, so the order is total and an unstable sort as deterministic.
fn sort_by_due(actions: &mut [Action]) {
    actions.sort_unstable_by(|a, b| (a.due, &a.key).cmp(&(b.due, &b.key)));
}

/// The planner's inputs read once, with the interviews cut into groups it can place apart: the
/// weekly cap counts a person's touches from every interview, so interviews that share an
/// interviewer are one group, and nothing else ties one interview to another. Each group is
/// planned on its own ([`Planning::group`]), exactly as [`plan`] places it among all the others,
/// so a caller can take the plan group by group without holding all of it.
pub struct Planning<'a> {
    history: &'a History,
    policy: &'a Policy,
    owner: &'a Owner,
    now: DateTime<Utc>,
    /// The records as what was heard leaves them (see [`heard::effective`]), in id order.
    records: Vec<Cow<'a, Interview>>,
    /// The reply heard in the mailbox that stops an interview, by interview id.
    heard_notes: BTreeMap<String, &'a heard::HeardRecord>,
    holds: BTreeMap<String, Hold>,
    /// Every touch the state already holds, by recipient.
    touches: BTreeMap<String, Vec<Touch>>,
    /// Indices into `records`: each group in id order, the groups by their first id.
    groups: Vec<Vec<usize>>,
}

impl<'a> Planning<'a> {
    pub fn new(
        records: &'a [Interview],
        history: &'a History,
        policy: &'a Policy,
        owner: &'a Owner,
        now: DateTime<Utc>,
    ) -> Self {
        // What was heard decides an interview the record leaves waiting.
        let heard_notes = records
            .iter()
            .filter_map(|iv| {
                let reply = heard::deciding_reply(iv, &history.heard)?;
                Some((iv.id.clone(), reply))
            })
            .collect();
        // In id order, so the outcome never depends on the order files were read.
        let mut records: Vec<Cow<Interview>> = records
            .iter()
            .map(|iv| heard::effective(iv, &history.heard))
            .collect();
        records.sort_by(|a, b| a.id.cmp(&b.id));
        let touches = seeded_touches(&records, history, policy, now);
        let groups = sharing_an_interviewer(&records);
        Self {
            history,
            policy,
            owner,
            now,
            heard_notes,
            holds: holds(&history.heard),
            touches,
            records,
            groups,
        }
    }

    /// How many groups there are.
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    /// Every action of the interviews of group `g`, soonest first.
    pub fn group(&self, g: usize) -> Vec<Action> {
        let records: Vec<&Interview> = self.groups[g]
            .iter()
            .map(|&i| self.records[i].as_ref())
            .collect();
        let mut touches = BTreeMap::new();
        for person in records.iter().flat_map(|iv| &iv.interviewers) {
            let key = person.key();
            if let Some(seen) = self.touches.get(&key) {
                touches.entry(key).or_insert_with(|| seen.clone());
            }
        }
        let mut planner = Planner {
            history: self.history,
            policy: self.policy,
            owner: self.owner,
            now: self.now,
            touches,
            holds: &self.holds,
            heard_notes: &self.heard_notes,
            queue: BinaryHeap::new(),
            out: Vec::new(),
            seq: 0,
        };
        for (index, interview) in records.iter().enumerate() {
            planner.start(index, interview);
        }
        planner.run(&records);
        let mut out = planner.out;
        sort_by_due(&mut out);
        out
    }
}

/// The records (in id order) in groups that share an interviewer, directly or through others:
/// each group in id order, the groups in the order of their first record.
fn sharing_an_interviewer(records: &[Cow<Interview>]) -> Vec<Vec<usize>> {
    // Union-find whose root is always the group's lowest index.
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut parent: Vec<usize> = (0..records.len()).collect();
    let mut first_with: HashMap<String, usize> = HashMap::new();
    for (i, iv) in records.iter().enumerate() {
        for person in &iv.interviewers {
            match first_with.entry(person.key()) {
                Entry::Occupied(first) => {
                    let (a, b) = (root(&mut parent, *first.get()), root(&mut parent, i));
                    parent[a.max(b)] = a.min(b);
                }
                Entry::Vacant(slot) => {
                    slot.insert(i);
                }
            }
        }
    }
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut group_of_root = vec![usize::MAX; records.len()];
    for i in 0..records.len() {
        let r = root(&mut parent, i);
        if group_of_root[r] == usize::MAX {
            group_of_root[r] = groups.len();
            groups.push(Vec::new());
        }
        groups[group_of_root[r]].push(i);
    }
    groups
}

/// Every touch the state already holds counts, from any interview, even a removed one. A
/// message still on its way counts as going out now, since it may go any moment; except a
/// thank-you past its hard limit, which can only go out if the user overrides the limit, and
/// which would otherwise hold the person's cap for ever.
fn seeded_touches(
    records: &[Cow<Interview>],
    history: &History,
    policy: &Policy,
    now: DateTime<Utc>,
) -> BTreeMap<String, Vec<Touch>> {
    let mut touches = BTreeMap::new();
    let by_id: BTreeMap<&str, &Interview> = records
        .iter()
        .map(|iv| (iv.id.as_str(), iv.as_ref()))
        .collect();
    for (key, past) in &history.sends {
        if !key.step.channel().is_touch() {
            continue;
        }
        let expired = by_id
            .get(key.interview.as_str())
            .and_then(|iv| policy.send_limit(key.step, iv))
            .is_some_and(|limit| now > limit);
        let at = if past.state.delivered() {
            past.sent_at.unwrap_or(past.reserved_at)
        } else if past.state.in_progress() && !expired {
            past.reserved_at.max(now)
        } else if past.state.in_progress() {
            past.reserved_at
        } else {
            continue;
        };
        let touch = Touch {
            at,
            step: Some(key.step),
            interview: key.interview.clone(),
        };
        add_touch(&mut touches, key.recipient.clone(), touch);
    }
    // The user's own messages to an interviewer count as much as ours.
    for (interviewer, interview, at) in heard::own_follow_ups(&history.heard) {
        let touch = Touch {
            at,
            step: None,
            interview: interview.to_string(),
        };
        add_touch(&mut touches, interviewer.to_string(), touch);
    }
    touches
}

/// Records a touch, keeping each recipient's touches in time order (ties in the order they
/// came), so that [`Planner::cap_clears_at`] looks only at those near the instant it checks.
fn add_touch(touches: &mut BTreeMap<String, Vec<Touch>>, recipient: String, touch: Touch) {
    let list = touches.entry(recipient).or_default();
    let at = list.partition_point(|t| t.at <= touch.at);
    list.insert(at, touch);
}

/// A touch the cap counts.
#[derive(Debug, Clone)]
struct Touch {
    at: DateTime<Utc>,
    /// What it was, for reasons: a step, or (`None`) the user's own message.
    step: Option<Step>,
    interview: String,
}

/// What an out-of-office holds an interviewer until: the first instant of the day they may be
/// written to again, who said so, and when.
#[derive(Debug, Clone)]
struct Hold {
    until: NaiveDate,
    from: String,
    said_on: DateTime<Utc>,
}

/// The holds by interviewer (see [`heard::hold`]).
fn holds(heard: &HeardByInterview) -> BTreeMap<String, Hold> {
    let mut out = BTreeMap::new();
    for record in heard.values().flatten() {
        if let Heard::OutOfOffice {
            interviewer, from, ..
        } = &record.heard
            && !out.contains_key(interviewer)
            && let Some(latest) = heard::hold(interviewer, heard)
            && let Heard::OutOfOffice { until, .. } = &latest.heard
        {
            out.insert(
                interviewer.clone(),
                Hold {
                    until: *until,
                    from: from.clone(),
                    said_on: latest.at,
                },
            );
        }
    }
    out
}

/// A step waiting for its place in time.
#[derive(Debug, Clone)]
struct Candidate {
    at: DateTime<Utc>,
    interview: usize,
    step: Step,
    /// Index into the interview's interviewers of the person touched.
    person: usize,
    reasons: Vec<Why>,
    capped: bool,
    /// When it was due, if that was before now and it was moved to now: the time a skipped step
    /// would have gone out.
    overdue_from: Option<DateTime<Utc>>,
    /// Whether successors follow once this step is placed.
    chain: bool,
}

/// Orders candidates in the heap by time, then by a stable sequence number. The candidate is
/// boxed so that the heap moves a pointer, not the candidate, at each of its steps.
#[derive(Debug)]
struct Queued(Reverse<(DateTime<Utc>, u64)>, Box<Candidate>);

impl PartialEq for Queued {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Queued {}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// Nothing is planned further out than this; it only bounds pathological policies.
const HORIZON_DAYS: i64 = 5 * 365;

struct Planner<'a> {
    history: &'a History,
    policy: &'a Policy,
    owner: &'a Owner,
    now: DateTime<Utc>,
    touches: BTreeMap<String, Vec<Touch>>,
    holds: &'a BTreeMap<String, Hold>,
    /// The reply heard in the mailbox that stops an interview, by interview id.
    heard_notes: &'a BTreeMap<String, &'a heard::HeardRecord>,
    queue: BinaryHeap<Queued>,
    out: Vec<Action>,
    seq: u64,
}

impl Planner<'_> {
    /// Lays out an interview's steps by its status.
    fn start(&mut self, index: usize, iv: &Interview) {
        let primary = iv.primary_index();
        for person in 0..iv.interviewers.len() {
            let key = self.key(iv, Step::ThankYou, person);
            if self.report_past(iv, &key, Step::ThankYou, person).is_some() {
                continue;
            }
            if let Some(why) = iv.status.cancels(Step::ThankYou) {
                self.cancel(iv, Step::ThankYou, person, why);
            } else {
                let at = iv.end + self.policy.thank_you.delay;
                let reason = Why::AfterInterview {
                    delay: Delay(self.policy.thank_you.delay),
                    ended: Some(self.when(iv.end, iv.timezone)),
                };
                self.push(index, iv, Step::ThankYou, person, at, vec![reason], false);
            }
        }
        match iv.status {
            Status::Waiting => self.start_sequence(index, iv, primary),
            Status::Replied => self.start_after_reply(index, iv, primary),
            Status::Rejected | Status::Offer | Status::Withdrawn | Status::Closed => {
                self.cancel_sequence(iv, primary);
                if iv.status.cancels(Step::AfterRejection).is_none() {
                    self.start_after_rejection(index, iv, primary);
                } else {
                    let key = self.key(iv, Step::AfterRejection, primary);
                    self.report_past(iv, &key, Step::AfterRejection, primary);
                }
            }
        }
    }

    /// status_check → call_reminder → final_check → close, each anchored on the one before.
    fn start_sequence(&mut self, index: usize, iv: &Interview, primary: usize) {
        let (first_at, first_reason) = self.status_check_base(iv);
        let mut anchor: Option<(DateTime<Utc>, Step)> = None;
        for step in Step::SEQUENCE {
            let key = self.key(iv, step, primary);
            if let Some(at) = self.report_past(iv, &key, step, primary) {
                anchor = Some((at, step));
                continue;
            }
            let (at, reason) = match anchor {
                None => (first_at, first_reason.clone()),
                Some((prev, prev_step)) => self.after(iv, step, prev, prev_step),
            };
            self.push(index, iv, step, primary, at, vec![reason], true);
            return;
        }
    }

    /// A reply stops the automatic checks; a new decision date plans one more check from it.
    fn start_after_reply(&mut self, index: usize, iv: &Interview, primary: usize) {
        let replied_on = self.outcome_date(iv);
        let replan = iv
            .decision_by
            .filter(|decision| *decision > replied_on)
            .map(|_| self.status_check_base(iv));
        let mut replanned = false;
        for step in Step::SEQUENCE {
            let key = self.key(iv, step, primary);
            if self.report_past(iv, &key, step, primary).is_some() {
                continue;
            }
            match (&replan, replanned, step) {
                (Some((at, reason)), false, Step::StatusCheck | Step::FinalCheck) => {
                    let reasons = vec![Why::NewDecisionDate, reason.clone()];
                    self.push(index, iv, step, primary, *at, reasons, false);
                    replanned = true;
                }
                _ => {
                    if let Some(why) = iv.status.cancels(step) {
                        self.cancel(iv, step, primary, why);
                    }
                }
            }
        }
    }

    fn start_after_rejection(&mut self, index: usize, iv: &Interview, primary: usize) {
        let key = self.key(iv, Step::AfterRejection, primary);
        if self
            .report_past(iv, &key, Step::AfterRejection, primary)
            .is_some()
        {
            return;
        }
        let policy = &self.policy.after_rejection;
        let (base, recorded_on, seen) = match (iv.status_on, self.history.status_seen.get(&iv.id)) {
            (Some(date), _) => (self.day_start(date, iv.timezone), Some(date), None),
            (None, Some((Status::Rejected, seen))) => {
                (*seen, None, Some(self.when(*seen, iv.timezone)))
            }
            _ => (self.now, None, None),
        };
        let at = add_delay(base, policy.delay, iv.timezone);
        let reason = Why::AfterRejection {
            delay: Delay(policy.delay),
            recorded_on,
            seen,
        };
        self.push(
            index,
            iv,
            Step::AfterRejection,
            primary,
            at,
            vec![reason],
            false,
        );
    }

    fn cancel_sequence(&mut self, iv: &Interview, primary: usize) {
        for step in Step::SEQUENCE {
            let key = self.key(iv, step, primary);
            if self.report_past(iv, &key, step, primary).is_none()
                && let Some(why) = iv.status.cancels(step)
            {
                self.cancel(iv, step, primary, why);
            }
        }
    }

    /// When the status check falls: after the decision date when there is one.
    fn status_check_base(&self, iv: &Interview) -> (DateTime<Utc>, Why) {
        match iv.decision_by {
            Some(decision) => {
                let grace = self.policy.after_decision;
                let at = if is_whole_days(grace) {
                    let date = decision + Days::new(grace.num_days() as u64);
                    resolve_lenient(
                        date.and_time(self.policy.status_check.window.start),
                        iv.timezone,
                    )
                } else {
                    self.day_start(decision, iv.timezone) + TimeDelta::days(1) + grace
                };
                (
                    at,
                    Why::AfterDecisionDate {
                        delay: Delay(grace),
                        decision,
                    },
                )
            }
            None => {
                let delay = self.policy.status_check.delay;
                (
                    add_delay(iv.end, delay, iv.timezone),
                    Why::AfterInterview {
                        delay: Delay(delay),
                        ended: None,
                    },
                )
            }
        }
    }

    /// The nominal time of `step`, anchored on the previous touch of the sequence.
    fn after(
        &self,
        iv: &Interview,
        step: Step,
        prev: DateTime<Utc>,
        prev_step: Step,
    ) -> (DateTime<Utc>, Why) {
        let delay = self.policy.step(step).delay;
        (
            add_delay(prev, delay, iv.timezone),
            Why::NoReply {
                delay: Delay(delay),
                after: prev_step,
            },
        )
    }

    /// The date on which the current outcome was recorded.
    fn outcome_date(&self, iv: &Interview) -> NaiveDate {
        iv.status_on
            .or_else(|| {
                self.history
                    .status_seen
                    .get(&iv.id)
                    .filter(|(status, _)| *status == iv.status)
                    .map(|(_, at)| local(*at, iv.timezone).date())
            })
            .unwrap_or_else(|| local(self.now, iv.timezone).date())
    }

    fn day_start(&self, date: NaiveDate, tz: Tz) -> DateTime<Utc> {
        resolve_lenient(date.and_time(chrono::NaiveTime::MIN), tz)
    }

    fn key(&self, iv: &Interview, step: Step, person: usize) -> SendKey {
        SendKey::of(iv, step, &iv.interviewers[person], self.owner)
    }

    /// Emits the action for a send the state already holds, returning the instant successors
    /// are anchored on, or `None` when the state knows nothing of it.
    fn report_past(
        &mut self,
        iv: &Interview,
        key: &SendKey,
        step: Step,
        person: usize,
    ) -> Option<DateTime<Utc>> {
        let past = self.history.sends.get(key)?;
        // What the next round will withdraw is shown as withdrawn already, with why.
        let withdrawn = past
            .state
            .is_withdrawable()
            .then(|| {
                self.history
                    .cancels_waiting(iv, key, past.reserved_at, self.now)
            })
            .flatten();
        if let Some(why) = withdrawn {
            let anchor = past.reserved_at.max(self.now);
            let reason = Why::Withdrawn {
                because: Box::new(why),
                queued: past.state == SendState::Queued,
            };
            self.emit(
                iv,
                step,
                person,
                self.now,
                ActionState::Cancelled,
                reason.into(),
            );
            return Some(anchor);
        }
        let (state, due, anchor, reason) = match past.state {
            SendState::Planned => return None,
            SendState::Sent => {
                let at = past.sent_at.unwrap_or(past.reserved_at);
                (
                    ActionState::Sent,
                    at,
                    at,
                    Why::Sent {
                        at: self.when(at, iv.timezone),
                    },
                )
            }
            SendState::Uncertain => (
                ActionState::Uncertain,
                past.reserved_at,
                past.reserved_at,
                Why::Uncertain,
            ),
            SendState::Queued | SendState::Approved | SendState::Sending => {
                let waiting = past.reserved_at.max(self.now);
                let what = match past.state {
                    SendState::Queued => Why::AwaitingApproval,
                    SendState::Approved => Why::Approved,
                    _ => Why::BeingSent,
                };
                (ActionState::Queued, waiting, waiting, what)
            }
            SendState::Deferred => {
                let retry = past.next_attempt.unwrap_or(self.now);
                (
                    ActionState::Deferred,
                    retry,
                    retry.max(self.now),
                    Why::Retrying {
                        error: past.note.clone(),
                    },
                )
            }
            SendState::Failed => (
                ActionState::Failed,
                past.reserved_at,
                past.reserved_at,
                Why::Failed {
                    error: past.note.clone(),
                },
            ),
            SendState::Skipped => (
                ActionState::Skipped,
                past.reserved_at,
                past.reserved_at,
                Why::Recorded {
                    state: past.state,
                    note: past.note.clone(),
                },
            ),
            SendState::Cancelled => (
                ActionState::Cancelled,
                past.reserved_at,
                past.reserved_at,
                Why::Recorded {
                    state: past.state,
                    note: past.note.clone(),
                },
            ),
            SendState::Rejected => (
                ActionState::Rejected,
                past.reserved_at,
                past.reserved_at,
                Why::RejectedInQueue,
            ),
        };
        let mut reasons = Reasons::new(reason);
        if state == ActionState::Sent
            && let Some(bounce) =
                heard::bounce_of_send(&self.history.heard, &iv.id, &key.recipient, due)
            && let Heard::Report {
                outcome, reason, ..
            } = &bounce.heard
        {
            reasons.push(Why::CameBack {
                outcome: *outcome,
                server_said: reason.clone(),
            });
        }
        self.emit(iv, step, person, due, state, reasons);
        Some(anchor)
    }

    fn cancel(&mut self, iv: &Interview, step: Step, person: usize, reason: Why) {
        let reason = match self.heard_notes.get(&iv.id) {
            Some(reply) => heard::explained(reply, reason),
            None => reason,
        };
        let now = self.now;
        self.emit(iv, step, person, now, ActionState::Cancelled, reason.into());
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        interview: usize,
        iv: &Interview,
        step: Step,
        person: usize,
        at: DateTime<Utc>,
        reasons: Vec<Why>,
        chain: bool,
    ) {
        // An e-mail to an address that bounced is cancelled where it would have been due, and
        // what follows it keeps its own time (the call reminder still comes).
        let key = self.key(iv, step, person);
        if let Some(why) = self
            .history
            .bounce_cancels(&key, self.tz_of(step, iv), self.now)
        {
            self.emit(iv, step, person, at, ActionState::Cancelled, why.into());
            if chain {
                self.chain_after(interview, iv, step, person, at);
            }
            return;
        }
        // The user wrote to them after this was due: their message stands for it, and what
        // follows is anchored on it, so nothing piles on top of their own.
        if step.channel() == Channel::Email
            && let Some(own) =
                heard::own_follow_up_since(&self.history.heard, &iv.id, &key.recipient, at)
        {
            let why = Why::OwnMessage {
                name: iv.interviewers[person].name.clone(),
                at: self.when(own.at, self.tz_of(step, iv)),
                step,
            };
            self.emit(iv, step, person, own.at, ActionState::Cancelled, why.into());
            if chain {
                self.chain_after(interview, iv, step, person, own.at);
            }
            return;
        }
        self.enqueue(Candidate {
            at,
            interview,
            step,
            person,
            reasons,
            capped: false,
            overdue_from: None,
            chain,
        });
    }

    fn enqueue(&mut self, candidate: Candidate) {
        self.seq += 1;
        self.queue.push(Queued(
            Reverse((candidate.at, self.seq)),
            Box::new(candidate),
        ));
    }

    /// The zone the step's window is reckoned in: the recipient's.
    fn tz_of(&self, step: Step, iv: &Interview) -> Tz {
        match step.channel() {
            Channel::Notice => self.owner.timezone,
            Channel::Email | Channel::Call => iv.timezone,
        }
    }

    /// Places candidates in time order: window, cap and limits, then successors.
    fn run(&mut self, records: &[&Interview]) {
        while let Some(Queued(_, c)) = self.queue.pop() {
            let mut c = *c;
            let iv = records[c.interview];
            let tz = self.tz_of(c.step, iv);
            let step_policy = self.policy.step(c.step);

            if self
                .policy
                .send_limit(c.step, iv)
                .is_some_and(|limit| c.at > limit)
            {
                let why = Why::PastLimit {
                    limit: Delay(self.policy.thank_you_limit),
                };
                self.skip(iv, &mut c, why);
                continue;
            }
            if c.at > self.now + TimeDelta::days(HORIZON_DAYS) {
                self.skip(iv, &mut c, Why::BeyondHorizon);
                continue;
            }

            // An interviewer who is away gets nothing until they are back (the thank-you still
            // goes: it answers that day's meeting and waits well in an inbox).
            let person_key = iv.interviewers[c.person].key();
            if c.step != Step::ThankYou
                && c.step.channel().is_touch()
                && let Some(hold) = self.holds.get(&person_key)
            {
                let back = self.day_start(hold.until, tz);
                if c.at < back {
                    c.reasons.push(Why::Away {
                        until: self.when(back, tz),
                        from: hold.from.clone(),
                        said_on: self.when(hold.said_on, tz),
                    });
                    c.at = back;
                    self.enqueue(c);
                    continue;
                }
            }

            let placed = next_in_window(c.at, &step_policy.window, tz, |d| {
                self.policy.holds_back(c.step, d)
            });
            if placed.at != c.at {
                // Moved from now when it was overdue: `now` is no time of its own.
                let from = c.overdue_from.is_none().then_some(c.at);
                let why = self.moved(from, &placed, &step_policy.window, tz);
                c.reasons.push(why);
                c.at = placed.at;
                self.enqueue(c);
                continue;
            }
            // Due before now, even in its window: it goes now (or is too late), and says so.
            if c.at < self.now {
                c.reasons.push(Why::Overdue {
                    since: self.when(c.at, tz),
                });
                c.overdue_from = Some(c.at);
                c.at = self.now;
                self.enqueue(c);
                continue;
            }

            let person = &iv.interviewers[c.person];
            if self.policy.is_capped(c.step)
                && let Some((clear, blocker)) = self.cap_clears_at(&person.key(), c.at, tz)
            {
                c.reasons.push(Why::Cap {
                    by: Delay(clear - c.at),
                    recipient: person.key(),
                    blocking_step: blocker.step,
                    interview: blocker.interview.clone(),
                    at: self.when(blocker.at, tz),
                });
                c.at = clear;
                c.capped = true;
                self.enqueue(c);
                continue;
            }

            let needs_address = c.step.channel() == Channel::Email;
            if needs_address && person.email.is_none() {
                let why = Why::NoAddress {
                    name: person.name.clone(),
                };
                self.skip(iv, &mut c, why);
            } else {
                if c.step == Step::ThankYou && self.policy.thank_you_is_late(iv, c.at) {
                    c.reasons.push(Why::LateThankYou {
                        target: Delay(self.policy.thank_you_target),
                        limit: Delay(self.policy.thank_you_limit),
                    });
                }
                if c.step.channel().is_touch() {
                    let touch = Touch {
                        at: c.at,
                        step: Some(c.step),
                        interview: iv.id.clone(),
                    };
                    add_touch(&mut self.touches, person.key(), touch);
                }
                let state = if c.capped {
                    ActionState::Deferred
                } else {
                    ActionState::Scheduled
                };
                let reasons = std::mem::take(&mut c.reasons).into();
                self.emit(iv, c.step, c.person, c.at, state, reasons);
            }

            if c.chain {
                self.chain_after(c.interview, iv, c.step, c.person, c.at);
            }
        }
    }

    /// Queues the step after `step`, walking past any successors the state already holds.
    fn chain_after(
        &mut self,
        index: usize,
        iv: &Interview,
        mut step: Step,
        person: usize,
        mut anchor: DateTime<Utc>,
    ) {
        while let Some(next) = step.next_in_sequence() {
            let key = self.key(iv, next, person);
            match self.report_past(iv, &key, next, person) {
                Some(at) => (step, anchor) = (next, at),
                None => {
                    let (at, reason) = self.after(iv, next, anchor, step);
                    self.push(index, iv, next, person, at, vec![reason], true);
                    return;
                }
            }
        }
    }

    /// When the cap blocks a touch of `recipient` at `at`: the first instant it allows one, and
    /// the touch that blocks it. Whole-day periods count the recipient's calendar days.
    fn cap_clears_at(
        &self,
        recipient: &str,
        at: DateTime<Utc>,
        tz: Tz,
    ) -> Option<(DateTime<Utc>, Touch)> {
        let cap = self.policy.cap;
        let touches = self.touches.get(recipient)?;
        // Only touches within the period (two days wider each side, for local dates and DST)
        // can count; the list is in time order.
        let (from, to) = (
            at - cap.period - TimeDelta::days(2),
            at + TimeDelta::days(2),
        );
        let touches = &touches
            [touches.partition_point(|t| t.at < from)..touches.partition_point(|t| t.at <= to)];
        let mut recent: Vec<&Touch> = if is_whole_days(cap.period) {
            let days = cap.period.num_days();
            let today = local(at, tz).date();
            touches
                .iter()
                .filter(|t| {
                    let d = local(t.at, tz).date();
                    d <= today && (today - d).num_days() < days
                })
                .collect()
        } else {
            touches
                .iter()
                .filter(|t| t.at <= at && at - t.at < cap.period)
                .collect()
        };
        if (recent.len() as u32) < cap.count.max(1) {
            return None;
        }
        recent.sort_by_key(|t| t.at);
        let blocker = recent[recent.len() - cap.count.max(1) as usize].clone();
        let clear = if is_whole_days(cap.period) {
            let date = local(blocker.at, tz).date() + Days::new(cap.period.num_days() as u64);
            resolve_lenient(date.and_time(chrono::NaiveTime::MIN), tz)
        } else {
            blocker.at + cap.period
        };
        Some((clear.max(at + TimeDelta::minutes(1)), blocker))
    }

    /// Reports a step that will not go out, with every reason that led there, due when it
    /// would have gone out (not now, when it was only found overdue now).
    fn skip(&mut self, iv: &Interview, c: &mut Candidate, why: Why) {
        c.reasons.push(why);
        let reason = std::mem::take(&mut c.reasons).into();
        let due = c.overdue_from.unwrap_or(c.at);
        self.emit(iv, c.step, c.person, due, ActionState::Skipped, reason);
    }

    /// A time in a reason, in `tz`, with its date when it is not this week.
    fn when(&self, t: DateTime<Utc>, tz: Tz) -> Moment {
        Moment::new(t, tz, self.now)
    }

    /// Why the send window moved a step from `from` (`None`: from now, where an overdue step
    /// stood): the hours or days, and every holiday passed over, by name.
    fn moved(&self, from: Option<DateTime<Utc>>, placed: &Placed, window: &Window, tz: Tz) -> Why {
        let to = self.when(placed.at, tz);
        let holidays = placed.holidays.clone();
        if !holidays.is_empty() && !placed.outside_window {
            return Why::Holiday { holidays, to };
        }
        Why::Window {
            from: from.map(|from| self.when(from, tz)),
            to,
            window: *window,
            holidays,
        }
    }

    fn emit(
        &mut self,
        iv: &Interview,
        step: Step,
        person: usize,
        due: DateTime<Utc>,
        state: ActionState,
        reason: Reasons,
    ) {
        let interviewer: &Interviewer = &iv.interviewers[person];
        let channel = step.channel();
        let mut reason = reason;
        if let (false, Some(named), true) = (
            step.is_for_every_interviewer(),
            iv.primary_stood_in_for(),
            matches!(
                state,
                ActionState::Scheduled | ActionState::Deferred | ActionState::Skipped
            ),
        ) {
            reason.push(Why::StandsIn {
                primary: named.name.clone(),
                stand_in: interviewer.name.clone(),
            });
        }
        let to = if channel.goes_to_the_user() {
            Some(self.owner.email.clone())
        } else {
            interviewer.email.clone()
        };
        let (recipient_name, timezone) = match channel {
            Channel::Notice => (self.owner.name.clone(), self.owner.timezone),
            Channel::Email | Channel::Call => (interviewer.name.clone(), iv.timezone),
        };
        self.out.push(Action {
            key: self.key(iv, step, person),
            channel,
            recipient_name,
            to,
            timezone,
            due,
            state,
            reason,
        });
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
