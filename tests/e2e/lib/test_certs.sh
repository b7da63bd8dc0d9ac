# shellcheck shell=bash
# Certificates for tests that play a peer of the mesh with openssl: a CA, and
# X509-SVIDs (one URI SAN) signed by any CA, with any validity window. Uses
# `openssl ca` because `openssl x509` of OpenSSL 3.0 cannot set notBefore.
#
#   certs_make_ca DIR                         DIR/ca.crt + DIR/ca.key (P-256)
#   certs_make_svid OUT URI CA_DIR [START END] OUT.crt + OUT.key; START/END as
#                                             YYYYMMDDHHMMSSZ (default: now, +1 day)

certs_make_ca() {
  local dir=$1
  mkdir -p "$dir"
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -days 30 \
    -subj "/O=test/CN=test CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
}

certs_make_svid() {
  local out=$1 uri=$2 ca=$3 start=${4:-} end=${5:-} work
  work=$(mktemp -d)
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -subj "/O=test" \
    -keyout "$out.key" -out "$work/req.csr" 2>/dev/null || return 1
  : >"$work/index.txt"
  echo 01 >"$work/serial"
  cat >"$work/ca.cnf" <<CNF
[ca]
default_ca = test
[test]
database = $work/index.txt
new_certs_dir = $work
serial = $work/serial
default_md = sha256
default_days = 1
policy = anything
unique_subject = no
[anything]
organizationName = optional
[svid]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = URI:$uri
CNF
  local window=()
  [[ -n $start ]] && window=(-startdate "$start" -enddate "$end")
  openssl ca -batch -notext -config "$work/ca.cnf" -cert "$ca/ca.crt" -keyfile "$ca/ca.key" \
    -extensions svid "${window[@]}" -in "$work/req.csr" -out "$out.crt" >/dev/null 2>&1 || { rm -rf "$work"; return 1; }
  rm -rf "$work"
}
