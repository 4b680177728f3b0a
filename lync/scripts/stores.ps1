# lynctrust: look for certificates in this server's LocalMachine stores.
# No module is loaded: only the Cert: drive is read.
$ErrorActionPreference = 'Stop'
$tab = "`t"
$stores = @{ 'TrustedRootCA' = 'Root'; 'IntermediateCA' = 'CA'; 'ThirdPartyRootCA' = 'AuthRoot' }
foreach ($entry in $wanted) {
    $parts = $entry -split ':'
    $path = 'Cert:\LocalMachine\' + $stores[$parts[1]] + '\' + $parts[0]
    if (Test-Path $path) {
        $cert = Get-Item $path
        $notAfter = $cert.NotAfter.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ', [Globalization.CultureInfo]::InvariantCulture)
        [Console]::Out.WriteLine(@('LYNCTRUST', 'cert', $parts[0], $parts[1], 'present', ($cert.Subject -replace '[\t\r\n]+', ' '), ($cert.Issuer -replace '[\t\r\n]+', ' '), $notAfter, $cert.SignatureAlgorithm.FriendlyName) -join $tab)
    } else {
        [Console]::Out.WriteLine(@('LYNCTRUST', 'cert', $parts[0], $parts[1], 'missing', '', '', '', '') -join $tab)
    }
}
