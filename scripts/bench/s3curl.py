#!/usr/bin/env python3
"""s3curl.py - plain curl against an S3 endpoint, for scripts/bench/object_store.sh.

Requests are signed with AWS Signature Version 4 here, because the test
server's access key holds a ':' (test:tester), which curl --aws-sigv4
cannot take.

  s3curl.py headers METHOD PATH
      prints the SigV4 headers (UNSIGNED-PAYLOAD) for one curl request,
      one per line
  s3curl.py multipart KEY PARTDIR
      uploads the files of PARTDIR (sorted) as the parts of KEY in bucket
      "walden", as walden's sink does: CreateMultipartUpload, UploadPart 4
      at a time, each signed with the real SHA-256 of its part (computed
      here), CompleteMultipartUpload; every request run by curl

Environment: S3_ENDPOINT (http://host:port), S3_KEY, S3_SECRET, S3_REGION.
"""
import datetime
import hashlib
import hmac
import os
import re
import subprocess
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

EP = os.environ["S3_ENDPOINT"]
HOST = EP.split("://", 1)[1]
KEY, SECRET, REGION = os.environ["S3_KEY"], os.environ["S3_SECRET"], os.environ["S3_REGION"]


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def q(s):
    return urllib.parse.quote(s, safe="-_.~")


def sign(method, path, query, payload_hash):
    """The headers of a SigV4-signed request: name -> value."""
    t = datetime.datetime.now(datetime.timezone.utc)
    amz, day = t.strftime("%Y%m%dT%H%M%SZ"), t.strftime("%Y%m%d")
    h = {"host": HOST, "x-amz-content-sha256": payload_hash, "x-amz-date": amz}
    names = sorted(h)
    creq = "\n".join([method, urllib.parse.quote(path, safe="/-_.~"), query,
                      "".join(f"{n}:{h[n]}\n" for n in names), ";".join(names), payload_hash])
    scope = f"{day}/{REGION}/s3/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope, sha256(creq.encode())])
    k = ("AWS4" + SECRET).encode()
    for m in (day, REGION, "s3", "aws4_request"):
        k = hmac.new(k, m.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    return {"Authorization": f"AWS4-HMAC-SHA256 Credential={KEY}/{scope}, "
                             f"SignedHeaders={';'.join(names)}, Signature={sig}",
            "x-amz-content-sha256": payload_hash, "x-amz-date": amz}


def curl(method, path, params, payload_hash, data_file=None, body=None):
    query = "&".join(f"{q(k)}={q(v)}" for k, v in sorted(params))
    cmd = ["curl", "-sSf", "-X", method, "-H", "Expect:", "-H", "Content-Type:", "-D", "-"]
    for n, v in sign(method, path, query, payload_hash).items():
        cmd += ["-H", f"{n}: {v}"]
    cmd += ["-T", data_file, "-o", "/dev/null"] if data_file else ["--data-binary", body]
    cmd.append(EP + urllib.parse.quote(path, safe="/-_.~") + ("?" + query if query else ""))
    return subprocess.run(cmd, check=True, capture_output=True).stdout.decode()


def multipart(key, pdir):
    path = "/walden/" + key
    out = curl("POST", path, [("uploads", "")], sha256(b""), body="")
    upload = re.search(r"<UploadId>(.*?)</UploadId>", out).group(1)
    parts = sorted(os.listdir(pdir))

    def one(i):
        f = os.path.join(pdir, parts[i])
        with open(f, "rb") as fh:
            ph = sha256(fh.read())
        out = curl("PUT", path, [("partNumber", str(i + 1)), ("uploadId", upload)], ph, data_file=f)
        return re.search(r"(?im)^etag:\s*(\S+)", out).group(1)

    with ThreadPoolExecutor(4) as ex:
        etags = list(ex.map(one, range(len(parts))))
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{i + 1}</PartNumber><ETag>{e}</ETag></Part>"
        for i, e in enumerate(etags)) + "</CompleteMultipartUpload>"
    out = curl("POST", path, [("uploadId", upload)], sha256(xml.encode()), body=xml)
    if "<Error>" in out:
        sys.exit("CompleteMultipartUpload failed: " + out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "headers":
        for n, v in sign(sys.argv[2], sys.argv[3], "", "UNSIGNED-PAYLOAD").items():
            print(f"{n}: {v}")
    elif len(sys.argv) == 4 and sys.argv[1] == "multipart":
        multipart(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
