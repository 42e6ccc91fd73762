import autocannon from 'autocannon'
import { readFileSync } from 'node:fs'
const [port, pid, secs] = process.argv.slice(2)
const cpu = () => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return (+f[11] + +f[12]) / 100 }
const c0 = cpu()
const r = await autocannon({ url: `http://127.0.0.1:${port}/v1/ledger?memberId=M-1`, headers: { authorization: 'Bearer exp-token-0123456789abcdef0123'}, connections: 1, duration: +secs })
const c1 = cpu()
console.log('req/s', r.requests.average, 'p50', r.latency.p50, 'p99', r.latency.p99, 'cpu ms/req', ((c1 - c0) * 1000 / r.requests.total).toFixed(2), 'total', r.requests.total)
