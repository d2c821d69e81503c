#!/usr/bin/env python3
"""Writes the inputs of bench/compare.sh: a followup workspace and the equivalent mailmerge files.

    workspace.py DIR COUNT PORT [--per-file K]

DIR/followup.yaml       send mode, plain SMTP to 127.0.0.1:PORT, state in DIR/state
DIR/interviews/*.yaml   COUNT interviews (K to a file), each with one interviewer of its own,
                        that ended three hours ago: every thank-you is due now
DIR/mailmerge/          the same COUNT messages for mailmerge: mailmerge_database.csv,
                        mailmerge_template.txt, mailmerge_server.conf

The interviews are in a fixed-offset zone chosen so that it is about noon there now, inside the
thank-you's send window (08:00-20:00): whatever the hour the script runs at, all are due.
"""

import datetime as dt
import os
import sys

HIGHLIGHTS = [
    "the plan to move billing onto an event log",
    "the churn dashboard you are rebuilding",
    "how the team runs its on-call rotation",
    "the migration of the search cluster",
]


def main() -> None:
    args = sys.argv[1:]
    per_file = 1
    if "--per-file" in args:
        i = args.index("--per-file")
        per_file = int(args[i + 1])
        del args[i : i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    root, count, port = args[0], int(args[1]), int(args[2])

    now = dt.datetime.now(dt.timezone.utc)
    # Etc/GMT-N is N hours *ahead* of UTC (POSIX signs).
    offset = 12 - now.hour
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
    local_now = now + dt.timedelta(hours=offset)
    start = (local_now - dt.timedelta(hours=4)).strftime("%Y-%m-%d %H:%M")
    day = (local_now - dt.timedelta(hours=4)).strftime("%A %B %-d")

    interviews = os.path.join(root, "interviews")
    merge = os.path.join(root, "mailmerge")
    os.makedirs(interviews, exist_ok=True)
    os.makedirs(merge, exist_ok=True)

    with open(os.path.join(root, "followup.yaml"), "w") as f:
        f.write(
            "me:\n  name: Sam Seeker\n  email: sam@example.org\n  phone: \"+1 555 0100\"\n"
            f"timezone: {zone}\n"
            "mode: send\n"
            "interviews: interviews\n"
            "state_dir: state\n"
            f"smtp:\n  host: 127.0.0.1\n  port: {port}\n  security: plain\n"
        )

    def record(i: int, in_list: bool) -> str:
        lead = "  " if in_list else ""
        first = "- " if in_list else ""
        return (
            f"{first}id: iv{i:06d}\n"
            f"{lead}company: Company {i}\n"
            f"{lead}position: Backend Engineer\n"
            f"{lead}start: {start}\n"
            f"{lead}interviewers:\n"
            f"{lead}  - name: Jane Roe{i}\n"
            f"{lead}    title: Engineering Manager\n"
            f"{lead}    email: jane.roe{i}@company{i}.example.com\n"
            f"{lead}notes:\n"
            f"{lead}  highlight: {HIGHLIGHTS[i % len(HIGHLIGHTS)]}\n"
        )

    for first in range(0, count, per_file):
        ids = range(first, min(first + per_file, count))
        name = os.path.join(interviews, f"iv{first:06d}.yaml")
        with open(name, "w") as f:
            f.write("".join(record(i, per_file > 1) for i in ids))

    # mailmerge: one row a message, and a template that says what followup's thank-you says.
    with open(os.path.join(merge, "mailmerge_database.csv"), "w") as f:
        f.write("email,name,first,company,highlight\n")
        for i in range(count):
            f.write(
                f"jane.roe{i}@company{i}.example.com,Jane Roe{i},Jane,Company {i},"
                f"{HIGHLIGHTS[i % len(HIGHLIGHTS)]}\n"
            )
    with open(os.path.join(merge, "mailmerge_template.txt"), "w") as f:
        f.write(
            "TO: {{name}} <{{email}}>\n"
            "FROM: Sam Seeker <sam@example.org>\n"
            f"SUBJECT: Thank you for your time on {day}\n"
            "\n"
            "Dear {{first}},\n\n"
            f"Thank you for meeting with me on {day} about the Backend Engineer role at "
            "{{company}}. I especially enjoyed our conversation about {{highlight}}.\n\n"
            "I would be happy to send references or samples of my work.\n\n"
            "I look forward to hearing about the next steps.\n\n"
            "Best regards,\nSam Seeker\n+1 555 0100\n"
        )
    with open(os.path.join(merge, "mailmerge_server.conf"), "w") as f:
        f.write(f"[smtp_server]\nhost = 127.0.0.1\nport = {port}\n")


if __name__ == "__main__":
    main()
