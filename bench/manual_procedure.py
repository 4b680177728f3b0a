"""The documented manual procedure, done the way a script would do it:
one WinRM command per cmdlet, each with its own Import-Module (pywinrm,
NTLM with message encryption). Prints the wall time in seconds.

usage: manual_procedure.py ENDPOINT USER PASSWORD THUMBPRINT MODULE [add|remove]

remove takes one certificate out as the reference does (Set-CsWebServiceConfiguration,
Example 6): read the list, remove the item from the object read and write it
back with -Instance, read again.
"""
import base64
import sys
import time

from winrm.protocol import Protocol

endpoint, user, password, thumbprint, module = sys.argv[1:6]
what = sys.argv[6] if len(sys.argv) > 6 else 'add'
p = Protocol(endpoint=endpoint, transport='ntlm', username=user, password=password,
             server_cert_validation='ignore', message_encryption='always',
             operation_timeout_sec=20, read_timeout_sec=30)
new = "New-CsWebTrustedCACertificate -Thumbprint '%s' -CAStore TrustedRootCA" % thumbprint
steps = [
    "$cert = " + new + "; $cert",
    "Set-CsWebServiceConfiguration -TrustedCACerts @{Add=(" + new + ")}",
    "Get-CsWebServiceConfiguration | Select-Object -ExpandProperty TrustedCACerts",
]
if what == 'remove':
    steps = [
        "Get-CsWebServiceConfiguration | Select-Object -ExpandProperty TrustedCACerts",
        "$c = Get-CsWebServiceConfiguration; foreach ($i in @($c.TrustedCACerts | Where-Object { $_.Thumbprint -eq '%s' })) { $r = $c.TrustedCACerts.Remove($i) }; Set-CsWebServiceConfiguration -Instance $c" % thumbprint,
        "Get-CsWebServiceConfiguration | Select-Object -ExpandProperty TrustedCACerts",
    ]
start = time.time()
for step in steps:
    script = "Import-Module " + module + "; " + step
    shell = p.open_shell(codepage=65001)
    command = p.run_command(shell, 'powershell', ['-NoProfile', '-NonInteractive', '-EncodedCommand',
                                                  base64.b64encode(script.encode('utf-16-le')).decode('ascii')])
    out, err, code = p.get_command_output(shell, command)
    p.cleanup_command(shell, command)
    p.close_shell(shell)
    if code != 0:
        sys.exit("step failed: %r %r" % (step, err))
print("%.3f" % (time.time() - start))
