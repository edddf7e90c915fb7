#!/usr/bin/env python3
"""Sends one message file with Python's smtplib, as a PBX's mail library would.

    smtplib_send.py --port P [--implicit-tls] [--starttls] [--user U --password T]
                    --from A --to B [--to C] FILE
Prints the server's reply to the message as JSON: {"code": 250, "text": "..."} (or the refusal).
"""
import argparse, json, smtplib, ssl, sys

parser = argparse.ArgumentParser()
parser.add_argument("--host", default="127.0.0.1")
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--implicit-tls", action="store_true")
parser.add_argument("--starttls", action="store_true")
parser.add_argument("--user")
parser.add_argument("--password")
parser.add_argument("--from", dest="sender", required=True)
parser.add_argument("--to", action="append", required=True)
parser.add_argument("file")
args = parser.parse_args()
context = ssl.create_default_context()
context.check_hostname = False
context.verify_mode = ssl.CERT_NONE
message = open(args.file, "rb").read()
try:
    if args.implicit_tls:
        client = smtplib.SMTP_SSL(args.host, args.port, context=context, timeout=60)
    else:
        client = smtplib.SMTP(args.host, args.port, timeout=60)
    client.ehlo("pbx.example.com")
    if args.starttls:
        client.starttls(context=context)
        client.ehlo("pbx.example.com")
    if args.user:
        client.login(args.user, args.password)
    client.mail(args.sender)
    for recipient in args.to:
        code, text = client.rcpt(recipient)
        if code >= 400:
            print(json.dumps({"code": code, "text": text.decode(), "stage": "rcpt"}))
            sys.exit(0)
    code, text = client.data(message)
    print(json.dumps({"code": code, "text": text.decode()}))
    client.quit()
except smtplib.SMTPResponseException as error:
    print(json.dumps({"code": error.smtp_code, "text": error.smtp_error.decode(errors="replace")}))
