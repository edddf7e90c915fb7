#!/usr/bin/python3
"""Parses a received alert mail with Python's email package (an independent parser) and
prints JSON: the decoded From, Subject, top-level Content-Duration, and each attachment's
type, file name and Content-Duration; audio attachments are written to OUT_DIR."""
import email, email.policy, json, os, sys

path, out_dir = sys.argv[1], sys.argv[2]
with open(path, "rb") as f:
    message = email.message_from_binary_file(f, policy=email.policy.default)
parts = []
for index, part in enumerate(message.walk()):
    if part.get_content_maintype() == "audio":
        target = os.path.join(out_dir, "attachment-%d-%s" % (index, part.get_filename()))
        with open(target, "wb") as f:
            f.write(part.get_payload(decode=True))
        parts.append({"type": part.get_content_type(), "filename": part.get_filename(),
                      "duration": part["Content-Duration"], "path": target})
sender = message["From"].addresses[0]
print(json.dumps({"from": "%s <%s>" % (sender.display_name, sender.addr_spec), "subject": str(message["Subject"]),
                  "duration": message["Content-Duration"], "message_id": message["Message-ID"],
                  "audio": parts, "defects": len(message.defects)}))
