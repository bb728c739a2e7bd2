"""Asterisk ``queue_log``: ``contactkpi ingest asterisk FILE... [--follow]``.

Sources read for this reader: the Asterisk documentation page "Queue Logs"
(docs.asterisk.org/Operation/Logging/Queue-Logs/), ``apps/app_queue.c`` (every
``ast_queue_log(...)`` call, Asterisk 13-21), ``main/logger.c`` (``ast_queue_log()``: how a
line and a realtime row are written) and the realtime ``queue_log`` table of Asterisk's
contrib SQL. :mod:`contactkpi.sources.asterisk.events` holds every event with its full quote.

The line
========

"The pipe delimited fields from left to right are" (doc), e.g.
``1366720340|1366720340.303267|MYQUEUE|SIP/8007|RINGNOANSWER|1000``:

=====  ===========  ==========================================================================
field  name         meaning (doc quote) -> how it is read
=====  ===========  ==========================================================================
1      time         "UNIX timestamp" -> ``ts`` (UTC; whole seconds, ``time(NULL)`` in logger.c)
2      callid       "Typically a Unique ID for the queue callers channel (based on the UNIX
                    timestamp), also possible "REALTIME" or "NONE"" -> contact id (call events)
3      queuename    "Queue name" -> ``queue``
4      agent        "Queue member channel" (the member name with ``log_membername_as_agent``)
                    -> ``agent_id``
5      event        "Event type" -> one of the events below; anything else is a reject
6...   data         "All fields to the right of the event type are event parameters"
=====  ===========  ==========================================================================

logger.c writes ``"%ld|%s|%s|%s|%s|"`` then the parameters, so an event without parameters
ends with ``|``; older Asterisks write fewer parameters (1.4: ``ENTERQUEUE(url|callerid)``,
``CONNECT(holdtime|bridgedchanneluniqueid)``, ``EXITWITHKEY(key|position)``,
``EXITWITHTIMEOUT(position)``): a missing parameter is never an error, the value is then
taken from the timestamps.

The same events exported from the realtime ``queue_log`` table (CSV with a header) are read
too: ``time`` ("%F %T.%6q" local time, or UTC with ``queue_log_realtime_use_gmt``; an offset
or epoch seconds are also accepted), ``callid``, ``queuename``, ``agent``, ``event`` and the
parameters either in ``data1``..``data5`` (``queue_adaptive_realtime = yes``: logger.c splits
the parameters on ``|`` into five columns, the fifth keeping the rest, so ATTENDEDTRANSFER via
LINK has ``calltime|origposition`` in data5) or in the single ``data`` column (the older,
non-adaptive form: all parameters ``|``-separated in one column). Both are re-joined with
``|`` and read exactly like the file. ``[asterisk] timezone`` in ``--mapping`` sets the zone
of naive times (default: the tenant's).

Events
======

kind ``call`` (callid = the caller's channel), ``member``, ``system``, ``info``:

===================  ==========================================  ===========================
event (params)       doc                                         becomes
===================  ==========================================  ===========================
ENTERQUEUE           "A call has entered the queue ... the        a visit starts: arrived_at,
(url|callerid|       Caller ID Number, and the caller's           queue, customer_id =
origposition         original position"                           callerid, entry_position
[|calleridname])
RINGNOANSWER         "After trying for ringtime ms to connect     agent_states ``ringing``
(ringtime)           to the available queue member, the attempt   [ts - ringtime, ts],
                     ended without the member picking up"         reason ``no_answer``
RINGCANCELED         "A caller is ringing a queue member, but     ``ringing``, reason
(ringtime)           that caller hangs up before the member       ``canceled`` (src writes
                     answers or times out"                        the ms rung)
CONNECT (holdtime|   "The caller was connected to an agent. Hold  answered_at, agent_id,
bridgedchannel-      time represents the amount of time the       wait_s = holdtime,
uniqueid|ringtime)   caller was on hold ... Ringtime represents   ring_s = ringtime (s);
                     the time the queue members phone was         ``on_contact`` starts
                     ringing prior to being answered"
COMPLETEAGENT /      "The caller was connected to an agent, and   ended_at, talk_s = calltime,
COMPLETECALLER       the call was terminated normally by the      outcome ``answered``;
(holdtime|calltime|  agent / by the caller"                       ``on_contact`` ends
origposition)
TRANSFER,            "Caller was transferred to a different       as COMPLETE*, plus
BLINDTRANSFER        extension" / "(Added in 12) A blind          ``transfers`` += 1
(extension|context|  transfer will result in a BLINDTRANSFER
holdtime|calltime|   message"
origposition)
ATTENDEDTRANSFER     "(Added in 12) ... BRIDGE for a bridge       as TRANSFER; the last three
(method|method-data  merge, APP for running an application ...,   parameters are holdtime,
|holdtime|calltime|  or LINK for linking two bridges"             calltime, origposition
origposition)                                                     (LINK has two channels)
ABANDON (position|   "The caller abandoned their position in the  outcome ``abandoned``,
origposition|        queue ... waittime is how long the call had  wait_s = waittime,
waittime)            been waiting in the queue"                   queue_position = position
EXITWITHTIMEOUT      "The caller was on hold too long and the     outcome ``timeout``
(position|orig...|   timeout expired"
waittime)
EXITWITHKEY (key|    "The caller elected to use a menu key to     outcome ``overflowed``
position|orig...|    exit the queue"                              (left the queue for another
waittime)                                                         destination, by choice)
EXITEMPTY (position  "The caller was exited from the queue        outcome ``overflowed`` (sent
|origposition|       forcefully because the queue had no          on by ``leavewhenempty``; not
waittime)            reachable members"                           ``blocked``: it had joined)
SYSCOMPAT            "A call was answered by an agent, but the    stored; the caller stays in
                     call was dropped because the channels were   the visit (ABANDON follows
                     not compatible"                              if it hangs up)
AGENTDUMP            "The agent dumped the caller while           stored; the caller stays
                     listening to the queue announcement"
DID, INFO            written by dialplans with QueueLog()         stored, no field
ADDMEMBER /          "A member was added to / removed from the    ``logged_in`` while the agent
REMOVEMEMBER         queue"                                       is a member of >= 1 queue
AGENTLOGIN /         "The agent logged in / off"                  ``logged_in`` (as membership
AGENTLOGOFF                                                       of the agent channel)
(channel|logintime)
AGENTCALLBACKLOGIN/  "The callback agent logged in / off"         as AGENTLOGIN/LOGOFF
AGENTCALLBACKLOGOFF
PAUSE / UNPAUSE      src: ``"PAUSE" ... "%s", reason``            ``paused`` with reason while
(reason)                                                          paused in >= 1 queue
PAUSEALL /           src: "Special event for when all queues are  stored only: the per-queue
UNPAUSEALL           paused - individual events still generated"  PAUSE lines carry the state
PENALTY, RINGINUSE   src: ``"%d"`` new value                      stored only
CONFIGRELOAD,        "The configuration has been reloaded" /      stored only
QUEUESTART           "The queueing system has been started"
===================  ==========================================  ===========================

Any other event (a custom ``QueueLog()`` verb) is a reject ``unknown_event``; the full list
of reject codes is in :mod:`contactkpi.sources.asterisk.check`.

Contacts
========

One contact per *visit* of a caller to a queue: ``contact_id`` is the callid, and
``callid#n`` for the n-th ENTERQUEUE of the same callid (a caller sent from one queue to
another keeps its channel), with ``parent_contact_id`` the visit before. A callid is unique
per Asterisk server (epoch.sequence; ``systemname`` in asterisk.conf prefixes it); when
several servers feed one tenant, name each with ``[asterisk] server = "pbx1"`` in
``--mapping`` and its call ids become ``pbx1/<callid>``. ``channel`` voice, ``direction``
inbound. ``wait_s`` is Asterisk's holdtime (CONNECT, else the exit event's waittime),
``talk_s`` its calltime (it includes any hold inside the call: the standard queue_log has no
hold events, so ``hold_s``/``holds`` stay empty), ``ring_s`` CONNECT's ringtime,
``queue_position`` the position when leaving (exit events), ``entry_position`` the original
position (ENTERQUEUE, else the exit/complete event), ``transfers`` the number of transfer
events. ``agent_id`` only for answered visits (an ABANDON carrying a member name - the caller
hung up while being connected - stays unanswered).

Robustness
==========

Loads go through ``store.load`` like every source. The Asterisk source hands the loader a
``prepare`` step, run just before the load's transaction, that splits and checks the file's
lines into a temp table, finds which events are new (an event already loaded - a repeated
line, a re-loaded or overlapping file - is known by the key of its line,
``asterisk_event_keys``) and derives, from *all* the events of every call with a new event
and of every agent the file touched, their contacts and agent states
(:mod:`~contactkpi.sources.asterisk.derive`, :mod:`~contactkpi.sources.asterisk.state`); it
writes only temp tables. Its ``derive`` step, *inside* the transaction (``Batch.derive``),
stores the keys, the events of the calls still open (``asterisk_events``) and the member
events (``asterisk_member_events``), and hands the derived rows, still in DuckDB, to the
loader, which checks them with the model's rules in SQL (``SqlRows``). If another load
commits between the two, the loader runs ``prepare`` again inside the transaction, so the
derivation always reads what the transaction sees. So:

- a call that spans two files or two days: its ENTERQUEUE waits in ``asterisk_events``
  (the call is pending: :func:`pending_calls`) until the load that brings its end; a call's
  events are looked up within a week of the new ones (no call lasts that long);
- lines out of order: events are ordered by time and event rank, never by line or file;
- a repeated line or a re-loaded file changes nothing (its events' keys are stored: nothing
  is derived again); splitting a log anywhere into files loaded in order gives the same rows;
- a finished call's events are kept a day after it ended (counted from the newest event
  loaded), then only its keys, contacts and agent states: a *new* line of it after that
  (late by more than a day, or an older file loaded after newer ones - a call whose
  ENTERQUEUE is in the older file is kept open for it) is a ``late_event`` reject rather
  than a changed contact that could not be derived again;
- a truncated last line: in a batch load it is a ``truncated_line`` reject (its complete
  version is read when the file is loaded again); ``--follow`` waits for its newline;
- a late line that moves the start of an agent interval deletes the interval written before
  (``asterisk_agent_intervals``), so nothing is counted twice; two calls giving one agent an
  interval with the same start (``RINGNOANSWER|0`` from several callers in one second) keep
  the one of the smallest contact id, whatever the order of loading;
- everything - events, rows, rejects, the follow position - commits or rolls back together.

Agent states: ``logged_in`` while a member of at least one queue (or logged in with
AgentLogin), ``paused`` (reason from the PAUSE that started it) while paused in at least one
queue, ``on_contact`` from CONNECT to the visit's end (still open while the call goes on),
``ringing`` for each RINGNOANSWER (reason ``no_answer``: the ring-no-answer count per agent)
and RINGCANCELED (``canceled``); the ring an agent answered is the contact's ``ring_s``. No
model change was needed: ``ringing`` is one of the canonical states.

Speed: files from 4 MiB are split by DuckDB's parallel CSV reader, checked and typed in the
same pass, and derived in SQL; anything that reader cannot split exactly like the Python
reader (a stray byte, a blank line, more than 12 fields) falls back to the exact Python
reader. A finished call's events are not kept beyond a day (only their keys), so a load
writes little more than its contacts and agent states.
"""

from __future__ import annotations

from contactkpi.sources.asterisk.derive import pending_calls
from contactkpi.sources.asterisk.events import EVENTS, EventSpec
from contactkpi.sources.asterisk.source import AsteriskOptions, AsteriskQueueLogSource

__all__ = ["EVENTS", "AsteriskOptions", "AsteriskQueueLogSource", "EventSpec", "pending_calls"]
