# lynctrust: the state read above (in $records) is printed with the ready
# record, in one write; nothing is written until lynctrust
# has saved it as a snapshot on its own disk. lynctrust then writes a
# go-ahead file from a second, module-less command in this same shell: its
# first line is 'go' and the snapshot's SHA-256, then four lines per
# collection to change (identity, '=' and the list as read, the action, '='
# and the entries: a list may be empty, a line may not); or the one line
# 'stop'. Without a go-ahead within $goWait
# seconds (lynctrust stopped, or could not save the snapshot) this script
# ends and writes nothing.
[Console]::Out.Write($records + 'LYNCTRUST' + $tab + 'ready' + "`r`n")
$goFile = $env:TEMP + '\' + $goName
$waited = 0
while ((-not (Test-Path $goFile)) -and ($waited -lt ($goWait * 20))) {
    Start-Sleep -Milliseconds 50
    $waited += 1
}
if (-not (Test-Path $goFile)) {
    [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'no-go-ahead', ('no go-ahead within ' + $goWait + ' seconds: nothing was written')) -join $tab)
    exit 9
}
$goLines = @(Get-Content -Path $goFile)
Remove-Item -Path $goFile -Force
if ($goLines[0] -eq 'stop') {
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'stopped')
    [Console]::Out.WriteLine('LYNCTRUST' + $tab + 'end')
    exit 0
}
$entryList = '^=([0-9A-F]{40}:[A-Za-z]+(,[0-9A-F]{40}:[A-Za-z]+)*)?$'
$goodGo = ($goLines.Count -ge 6) -and ((($goLines.Count - 2) % 4) -eq 0) -and ($goLines[0] -eq 'go') -and ($goLines[1] -match '^[0-9a-f]{64}$')
$changes = @()
$i = 2
while ($goodGo -and ($i -lt $goLines.Count)) {
    $goodGo = ($goLines[$i] -match '^(Global|site:[^\x00-\x1f]+|service:WebServer:[A-Za-z0-9.-]+)$') -and ($goLines[$i + 1] -match $entryList) -and ($goLines[$i + 2] -match '^(Add|Remove|Replace)$') -and ($goLines[$i + 3] -match $entryList)
    $entries = @($goLines[$i + 3].Substring(1) -split ',' | Where-Object { $_ -ne '' })
    $changes += ,@($goLines[$i], $goLines[$i + 1].Substring(1), $goLines[$i + 2], $entries)
    $i += 4
}
if (-not $goodGo) {
    [Console]::Out.WriteLine(@('LYNCTRUST', 'error', 'bad-go-ahead', 'the go-ahead file is not what lynctrust writes: nothing was written') -join $tab)
    exit 9
}
[Console]::Out.WriteLine('LYNCTRUST' + $tab + 'go' + $tab + $goLines[1])
