# lynctrust: look for certificates in this server's LocalMachine stores.
# No module is loaded: only the Cert: drive is read.
# Its records join $records, printed in one write by the end record.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$nl = "`r`n"
if ($records -eq $null) {
    $records = ''
}
$stores = @{ 'TrustedRootCA' = 'Root'; 'IntermediateCA' = 'CA'; 'ThirdPartyRootCA' = 'AuthRoot' }
foreach ($entry in $wanted) {
    $parts = $entry -split ':'
    $path = 'Cert:\LocalMachine\' + $stores[$parts[1]] + '\' + $parts[0]
    if (Test-Path $path) {
        $cert = Get-Item $path
        $notAfter = $cert.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
        $records += (@('LYNCTRUST', 'cert', $parts[0], $parts[1], 'present', ($cert.Subject -replace '[\t\r\n]+', ' '), ($cert.Issuer -replace '[\t\r\n]+', ' '), $notAfter, $cert.SignatureAlgorithm.FriendlyName) -join $tab) + $nl
    } else {
        $records += (@('LYNCTRUST', 'cert', $parts[0], $parts[1], 'missing', '', '', '', '') -join $tab) + $nl
    }
}
