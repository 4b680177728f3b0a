"""Runs one PowerShell command against a WinRM endpoint with pywinrm, as an
independent client of the lynctrust lab. Prints a JSON result.

usage: pywinrm_client.py ENDPOINT TRANSPORT USER PASSWORD ENCRYPTION SCRIPT

With TRANSPORT certificate, USER is the client certificate's PEM file and
PASSWORD its key's. With TRANSPORT kerberos, the ticket comes from the
credential cache (KRB5CCNAME, after kinit) and USER is the server's name
the ticket is for (the endpoint is a loopback address).
"""
import base64
import json
import sys

import winrm
from winrm.protocol import Protocol

endpoint, transport, user, password, encryption, script = sys.argv[1:7]
result = {}
try:
    creds = {'username': user, 'password': password}
    if transport == 'certificate':
        creds = {'cert_pem': user, 'cert_key_pem': password}
    if transport == 'kerberos':
        creds = {'username': None, 'password': None, 'kerberos_hostname_override': user}
    p = Protocol(endpoint=endpoint, transport=transport, server_cert_validation='ignore',
                 message_encryption=encryption, operation_timeout_sec=20, read_timeout_sec=30, **creds)
    shell = p.open_shell(codepage=65001)
    encoded = base64.b64encode(script.encode('utf-16-le')).decode('ascii')
    command = p.run_command(shell, 'powershell', ['-NoProfile', '-NonInteractive', '-EncodedCommand', encoded])
    out, err, code = p.get_command_output(shell, command)
    p.cleanup_command(shell, command)
    p.close_shell(shell)
    result = {'stdout': out.decode('utf-8'), 'stderr': err.decode('utf-8'), 'code': code}
except winrm.exceptions.InvalidCredentialsError as e:
    result = {'error': 'InvalidCredentialsError', 'message': str(e)}
except Exception as e:  # report, do not crash: the Go test reads the JSON
    result = {'error': type(e).__name__, 'message': str(e)}
print(json.dumps(result))
