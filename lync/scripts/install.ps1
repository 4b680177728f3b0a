# lynctrust: put a CA certificate into a LocalMachine store, the way a
# PowerShell 2.0 script can (X509Store Open, Add, Close).
$ErrorActionPreference = 'Stop'
$tab = "`t"
$bytes = [Convert]::FromBase64String($certificate)
$cert = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList (,$bytes)
$store = New-Object System.Security.Cryptography.X509Certificates.X509Store -ArgumentList $storeName, 'LocalMachine'
$store.Open('ReadWrite')
$store.Add($cert)
$store.Close()
[Console]::Out.WriteLine(@('LYNCTRUST', 'installed', $cert.Thumbprint, $storeName) -join $tab)
