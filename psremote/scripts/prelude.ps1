# lynctrust: load the Lync or Skype for Business module, once.
# Runs on Windows PowerShell 2.0 (Lync Server 2010) and later: records are
# printed one per line, tab separated, after a fixed prefix.
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$tab = "`t"
$lyncModule = $null
foreach ($name in @('SkypeForBusiness', 'Lync')) {
    if ($lyncModule -eq $null) {
        if (Get-Module -ListAvailable -Name $name) {
            Import-Module $name
            $lyncModule = $name
        }
    }
}
if ($lyncModule -eq $null) {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'error' + $tab + 'module-not-found' + $tab + 'neither the SkypeForBusiness nor the Lync module is installed on ' + $env:COMPUTERNAME)
    exit 3
}
[Console]::Out.WriteLine('LYNCTRUST' + $tab + 'module' + $tab + $lyncModule + $tab + $PSVersionTable.PSVersion.Major)
